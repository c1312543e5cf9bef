"""WebSocket routes of live chat (wired in config/asgi.py: the visitor's route outside the agents'
same-origin check, because the widget runs on customers' own sites)."""

from django.urls import path

from cx.chat.consumers import ChatAgentsConsumer, ChatVisitorConsumer

visitor_websocket_urlpatterns = [
    path("ws/chat/visitor/<str:widget_key>/", ChatVisitorConsumer.as_asgi()),
]
websocket_urlpatterns = [
    path("ws/chat/agents/", ChatAgentsConsumer.as_asgi()),
]
