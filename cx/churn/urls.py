from django.urls import path

from cx.churn import views

app_name = "churn"

urlpatterns = [
    path("", views.churn_page, name="page"),
    path("train/", views.train_now, name="train"),
    path("customers/<int:customer_id>/", views.customer_panel, name="customer_panel"),
    path("panel/", views.experience_panel, name="experience_panel"),
]
