"""Public pages under /support/: the web form customers use without an account."""

from django.urls import path

from cx.inbox import views

app_name = "inbox"
urlpatterns = [
    path("new/", views.web_form, name="web_form"),
    path("new/thanks/", views.web_form_thanks, name="web_form_thanks"),
]
