"""Messaging URLs under /messaging/: provider webhooks (no login, signed), admin pages, the ticket panel."""

from django.urls import path

from cx.messaging import views

app_name = "messaging"
urlpatterns = [
    path("hooks/<str:webhook_key>/", views.webhook, name="webhook"),
    path("connectors/", views.connector_list, name="connectors"),
    path("connectors/new/<str:provider>/", views.connector_create, name="connector_create"),
    path("connectors/<int:connector_id>/", views.connector_edit, name="connector_edit"),
    path("connectors/<int:connector_id>/delete/", views.connector_delete, name="connector_delete"),
    path("tickets/<int:ticket_id>/panel/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:ticket_id>/template/", views.ticket_template_send, name="ticket_template"),
    path("outbound/<int:outbound_id>/retry/", views.outbound_retry, name="outbound_retry"),
]
