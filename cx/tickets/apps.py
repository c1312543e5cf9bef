from django.apps import AppConfig

from cx.core.navigation import NavItem


class TicketsConfig(AppConfig):
    name = "cx.tickets"
    label = "tickets"
    verbose_name = "Tickets"
    nav_item = NavItem(label="Inbox", url_name="tickets:inbox", order=10)

    def ready(self) -> None:
        from cx.customers.registry import register_customer_data_handler
        from cx.tickets.services import TicketDataHandler

        register_customer_data_handler(TicketDataHandler())

        from datetime import timedelta

        from cx.core.periodic import register_periodic_job
        from cx.tickets.deferred import drain_job

        register_periodic_job(name="tickets.deferred_changes", every=timedelta(seconds=60), run=drain_job)

        from django.db.models.signals import post_delete, post_save

        from cx.accounts.models import Team, TeamMembership
        from cx.tickets.selectors import inbox_counts_invalidate

        def counts_stale(**_kwargs) -> None:  # team visibility and membership decide what an agent counts
            inbox_counts_invalidate()

        for model in (Team, TeamMembership):
            post_save.connect(counts_stale, sender=model, weak=False, dispatch_uid=f"tickets-counts-{model.__name__}")
            post_delete.connect(counts_stale, sender=model, weak=False,
                                dispatch_uid=f"tickets-counts-del-{model.__name__}")
