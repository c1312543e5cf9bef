from django.apps import AppConfig

from cx.core.navigation import NavItem


class TicketsConfig(AppConfig):
    name = "cx.tickets"
    label = "tickets"
    verbose_name = "Tickets"
    nav_item = NavItem(label="Inbox", url_name="tickets:inbox", order=10)

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.tickets.services import TicketDataHandler

        register_customer_data_handler(TicketDataHandler())
