"""SLA partials under /sla/ (configuration lives in the Django admin and the API)."""

from django.urls import path

from cx.sla import views

app_name = "sla"
urlpatterns = [
    path("tickets/<int:ticket_id>/badge/", views.ticket_badge, name="ticket_badge"),
]
