from django.urls import path

from cx.realtime.consumers import CustomerTimelineConsumer, TicketQueuesConsumer, UserNotificationsConsumer

websocket_urlpatterns = [
    path("ws/customers/<int:customer_id>/timeline/", CustomerTimelineConsumer.as_asgi()),
    path("ws/notifications/", UserNotificationsConsumer.as_asgi()),
    path("ws/tickets/queues/", TicketQueuesConsumer.as_asgi()),
]
