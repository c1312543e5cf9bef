from django.apps import AppConfig

from cx.core.navigation import NavItem


class ChatConfig(AppConfig):
    name = "cx.chat"
    label = "chat"
    verbose_name = "Live chat"
    nav_item = NavItem(label="Chat", url_name="chat:console", order=15)

    def ready(self) -> None:
        from cx.chat.services import ChatDataHandler, has_chat_room, on_ticket_change
        from cx.customers.registry import register_customer_data_handler
        from cx.routing.registry import register_capacity_check
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("chat", on_ticket_change, inline=True)  # pushes agents' replies to the widget
        register_capacity_check("chat", has_chat_room)
        register_customer_data_handler(ChatDataHandler())
