from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class AutomationConfig(AppConfig):
    name = "cx.automation"
    label = "automation"
    verbose_name = "Automations"
    # Everyone sees macros; admins also find triggers and time rules there.
    nav_item = NavItem(label="Automations", url_name="automation:macros", order=60)

    def ready(self) -> None:
        from cx.automation.services import ticket_change_observed, time_rules_run
        from cx.core.periodic import register_periodic_job
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("automation", ticket_change_observed)
        register_periodic_job(name="automation.time_rules", every=timedelta(minutes=5),
                              run=lambda now: time_rules_run(now=now))
