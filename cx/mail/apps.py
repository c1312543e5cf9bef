from django.apps import AppConfig

from cx.core.navigation import NavItem


class MailConfig(AppConfig):
    name = "cx.mail"
    label = "mail"
    verbose_name = "Email channel"
    nav_item = NavItem(label="Email", url_name="mail:mailboxes", order=80, admin_only=True)

    def ready(self) -> None:
        from datetime import timedelta

        from anymail.signals import inbound

        from cx.core.evaluation import register_evaluation
        from cx.core.periodic import register_periodic_job
        from cx.customers.registry import register_customer_data_handler
        from cx.mail import evaluation
        from cx.mail.outbound import outbound_retries_enqueue_due, send_agent_reply_by_email
        from cx.mail.services import MailDataHandler, anymail_inbound_received
        from cx.tickets.hooks import register_ticket_observer

        register_customer_data_handler(MailDataHandler())
        register_ticket_observer("mail.outbound", send_agent_reply_by_email)
        register_periodic_job(name="mail.outbound_retries", every=timedelta(minutes=1),
                              run=outbound_retries_enqueue_due)
        register_evaluation("email", evaluation.add_arguments, evaluation.handle,
                            help="parse every .eml in DIR: parsed / rejected / crashed")
        # Anymail announces inbound provider webhooks only through its signal; the receiver hands the raw
        # message to the same pipeline as SMTP and IMAP.
        inbound.connect(anymail_inbound_received, dispatch_uid="cx.mail.inbound")
