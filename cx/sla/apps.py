from datetime import timedelta

from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "cx.sla"
    label = "sla"
    verbose_name = "SLA policies"

    def ready(self) -> None:
        # Explicit wiring instead of signals: the SLA clock follows every ticket change inside its
        # transaction, and the scheduler checks for warnings and breaches once a minute.
        from cx.core.periodic import register_periodic_job
        from cx.sla.engine import sla_check, sla_on_ticket_change
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("sla", sla_on_ticket_change)
        register_periodic_job(name="sla.check", every=timedelta(seconds=60), run=sla_check)
