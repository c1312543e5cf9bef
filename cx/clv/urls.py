from django.urls import path

from cx.clv import views

app_name = "clv"

urlpatterns = [
    path("", views.clv_page, name="page"),
    path("refit/", views.refit, name="refit"),
    path("settings/", views.settings_save, name="settings"),
    path("panel/", views.experience_panel, name="experience_panel"),
    path("customers/<int:customer_id>/", views.customer_panel, name="customer_panel"),
]
