"""Timeline pages under /journeys/."""

from django.urls import path

from cx.journeys import views

app_name = "journeys"
urlpatterns = [
    path("customers/<int:customer_id>/timeline/", views.customer_timeline, name="customer_timeline"),
    path("customers/<int:customer_id>/timeline/summary/", views.customer_timeline_summary,
         name="customer_timeline_summary"),
    path("customers/<int:customer_id>/touchpoints/new/", views.touchpoint_add, name="touchpoint_add"),
]
