from django.apps import AppConfig


class DriversConfig(AppConfig):
    name = "cx.drivers"
    label = "drivers"
    verbose_name = "Driver analysis"

    def ready(self) -> None:
        from cx.core.slots import register_template_slot

        register_template_slot("insights.tabs", "drivers/partials/tab.html")
