from django.apps import AppConfig

from cx.core.navigation import NavItem


class BotConfig(AppConfig):
    name = "cx.bot"
    label = "bot"
    verbose_name = "Answer bot"
    nav_item = NavItem(label="Answer bot", url_name="bot:admin", order=58, admin_only=True)

    def ready(self) -> None:
        from datetime import timedelta

        from cx.bot.services import BotDataHandler, bot_abandon_stale, bot_quick_replies, on_ticket_change
        from cx.chat.registry import register_quick_replies
        from cx.core.periodic import register_periodic_job
        from cx.customers.registry import register_customer_data_handler
        from cx.tickets.hooks import register_ticket_observer

        # Inline: the bot's answer goes to the customer's live chat (it acts after commit, in the process the
        # customer's socket is on); for a chat reply it first checks cheaply whether it has anything to do.
        register_ticket_observer("bot", on_ticket_change, inline=True)
        register_quick_replies("bot", bot_quick_replies)
        register_periodic_job(name="bot.abandon_stale", every=timedelta(minutes=5), run=bot_abandon_stale)
        register_customer_data_handler(BotDataHandler())
