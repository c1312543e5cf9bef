"""Source administration under /tracking/."""

from django.urls import path

from cx.tracking import views

app_name = "tracking"
urlpatterns = [
    path("sources/", views.sources, name="sources"),
    path("sources/new/", views.source_create, name="source_create"),
    path("sources/<int:source_id>/rotate/", views.source_rotate, name="source_rotate"),
    path("sources/<int:source_id>/revoke/", views.source_revoke, name="source_revoke"),
]
