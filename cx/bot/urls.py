from django.urls import path

from cx.bot import views

app_name = "bot"
urlpatterns = [
    path("", views.admin_page, name="admin"),
    path("settings/", views.settings_save, name="settings"),
    path("report/", views.report_page, name="report"),
]
