"""WebSocket routes of the tickets app (combined with cx.realtime's in config/asgi.py)."""

from django.urls import path

from cx.tickets.consumers import TicketPresenceConsumer

websocket_urlpatterns = [
    path("ws/tickets/<int:ticket_id>/", TicketPresenceConsumer.as_asgi()),
]
