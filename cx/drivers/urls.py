from django.urls import path

from cx.drivers import views

app_name = "drivers"

urlpatterns = [
    path("", views.drivers_page, name="page"),
]
