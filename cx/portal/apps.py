from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "cx.portal"
    label = "portal"
    verbose_name = "Customer portal"

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.portal.services import PortalDataHandler

        register_customer_data_handler(PortalDataHandler())
