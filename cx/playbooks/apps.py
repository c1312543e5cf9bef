from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class PlaybooksConfig(AppConfig):
    name = "cx.playbooks"
    label = "playbooks"
    verbose_name = "Proactive playbooks"
    nav_item = NavItem(label="Playbooks", url_name="playbooks:list", order=65)

    def ready(self) -> None:
        from cx.core.periodic import register_periodic_job
        from cx.core.slots import register_template_slot
        from cx.customers.registry import register_customer_data_handler
        from cx.playbooks import services
        from cx.tickets.hooks import register_ticket_observer

        register_customer_data_handler(services.CustomerTagDataHandler())
        register_ticket_observer("playbooks", services.on_ticket_change)
        # Tracked events reach timelines through the tracking loader (every 5 s); survey answers and ticket
        # events are touchpoints too. The cursor job evaluates what is new; the sweep checks scores and state.
        register_periodic_job(name="playbooks.events", every=timedelta(seconds=5), run=services.events_periodic)
        register_periodic_job(name="playbooks.sweep", every=timedelta(minutes=5), run=services.sweep_periodic)
        register_periodic_job(name="playbooks.prune", every=timedelta(days=1), run=services.runs_prune)
        register_template_slot("ticket.sidebar.panels", "playbooks/slots/next_best_action.html")
        register_template_slot("customer.detail.panels", "playbooks/slots/customer_panel.html")
