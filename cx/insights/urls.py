"""Insights pages under /insights/ (the CLV, churn and driver apps add their own pages under it)."""

from django.urls import path

from cx.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.index, name="index"),
    path("service/", views.service, name="service"),
    path("experience/", views.experience, name="experience"),
    path("experience/main-funnel/", views.main_funnel, name="main_funnel"),
    path("link/", views.link, name="link"),
    path("digest/", views.digest, name="digest"),
]
