from django.apps import AppConfig

from cx.core.navigation import NavItem


class KbConfig(AppConfig):
    name = "cx.kb"
    label = "kb"
    verbose_name = "Knowledge base"
    nav_item = NavItem(label="Knowledge base", url_name="kb:articles", order=40)

    def ready(self) -> None:
        from cx.core.slots import register_template_slot
        from cx.customers.registry import register_customer_data_handler
        from cx.kb.services import KbDataHandler

        register_customer_data_handler(KbDataHandler())
        # The article picker and "save as article" in the ticket composer (see cx.core.slots).
        register_template_slot("ticket.composer.tools", "kb/partials/composer_tools.html")
