from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "cx.inbox"
    label = "inbox"
    verbose_name = "Inbox (channels)"

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.inbox.services import WebFormDataHandler

        register_customer_data_handler(WebFormDataHandler())
