from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "cx.journeys"
    label = "journeys"
    verbose_name = "Journeys"

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.journeys.services import TouchpointDataHandler

        register_customer_data_handler(TouchpointDataHandler())
