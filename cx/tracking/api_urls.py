"""The Segment-compatible Tracking API at the site root: POST /v1/identify|track|page|screen|group|alias|batch."""

from django.urls import path

from cx.tracking import views

urlpatterns = [
    path("<str:endpoint>", views.tracking_endpoint, name="tracking_endpoint"),
]
