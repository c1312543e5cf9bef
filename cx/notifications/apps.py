from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "cx.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from cx.notifications.services import notify_on_ticket_change
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("notifications", notify_on_ticket_change)
