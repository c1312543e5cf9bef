from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "cx.tickets"
    label = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.tickets.services import TicketDataHandler

        register_customer_data_handler(TicketDataHandler())
