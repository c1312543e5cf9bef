from django.apps import AppConfig

from cx.core.navigation import NavItem


class JourneysConfig(AppConfig):
    name = "cx.journeys"
    label = "journeys"
    verbose_name = "Journeys"
    nav_item = NavItem(label="Journeys", url_name="journeys:map", order=30)

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.journeys.services import TouchpointDataHandler

        register_customer_data_handler(TouchpointDataHandler())
