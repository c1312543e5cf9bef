from django.urls import path

from cx.realtime.consumers import CustomerTimelineConsumer

websocket_urlpatterns = [
    path("ws/customers/<int:customer_id>/timeline/", CustomerTimelineConsumer.as_asgi()),
]
