from django.apps import AppConfig

from cx.core.navigation import NavItem


class VoiceConfig(AppConfig):
    name = "cx.voice"
    label = "voice"
    verbose_name = "Phone and IVR"
    nav_item = NavItem(label="Phone", url_name="voice:menus", order=75, admin_only=True)

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.tickets.hooks import register_ticket_observer
        from cx.voice.services import CallDataHandler, voice_on_ticket_change

        register_customer_data_handler(CallDataHandler())
        register_ticket_observer("voice", voice_on_ticket_change)
