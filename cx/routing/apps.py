from datetime import timedelta

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "cx.routing"
    label = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from cx.accounts.services import register_agent_status_observer
        from cx.core.periodic import register_periodic_job
        from cx.routing import engine
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("routing", engine.on_ticket_change)
        register_agent_status_observer(engine.on_agent_status_change)
        # The safety net: whatever an observer missed (a crash, a change made outside the services) is
        # re-offered within a minute, so no ticket stays unassigned while someone could take it.
        register_periodic_job(name="routing.reoffer", every=timedelta(minutes=1), run=engine.reoffer_job)
