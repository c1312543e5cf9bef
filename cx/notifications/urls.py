"""Notification pages under /notifications/."""

from django.urls import path

from cx.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list_page, name="list"),
    path("badge/", views.notification_badge, name="badge"),
    path("read-all/", views.notification_read_all, name="read_all"),
    path("<int:notification_id>/read/", views.notification_read, name="read"),
    path("preferences/", views.preferences_page, name="preferences"),
]
