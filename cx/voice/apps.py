from django.apps import AppConfig

from cx.core.navigation import NavItem


class VoiceConfig(AppConfig):
    name = "cx.voice"
    label = "voice"
    verbose_name = "Phone and IVR"
    nav_item = NavItem(label="Phone", url_name="voice:menus", order=75, admin_only=True)

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.voice.services import CallDataHandler

        register_customer_data_handler(CallDataHandler())
