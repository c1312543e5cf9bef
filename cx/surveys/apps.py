from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class SurveysConfig(AppConfig):
    name = "cx.surveys"
    label = "surveys"
    verbose_name = "Surveys"
    nav_item = NavItem(label="Surveys", url_name="surveys:list", order=50)
    portal_panel = "cx.surveys.channels.portal_survey_panel"  # open invitations on the portal (cx/portal/registry.py)

    def ready(self) -> None:
        from cx.chat.hooks import register_chat_end_observer
        from cx.core.evaluation import register_evaluation
        from cx.core.periodic import register_periodic_job
        from cx.customers.registry import register_customer_data_handler
        from cx.messaging.hooks import register_inbound_reply_handler
        from cx.surveys import channels, triggers
        from cx.surveys.services import SurveyDataHandler
        from cx.surveys.text import evaluate
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("surveys", triggers.on_ticket_change)
        register_chat_end_observer("surveys", channels.on_chat_ended)
        register_inbound_reply_handler("surveys", channels.on_inbound_reply)
        register_customer_data_handler(SurveyDataHandler())
        register_periodic_job(name="surveys.send_due", every=timedelta(minutes=1), run=triggers.send_due)
        register_periodic_job(name="surveys.journey_events", every=timedelta(minutes=15), run=triggers.journey_events)
        register_periodic_job(name="surveys.recurring", every=timedelta(hours=1), run=triggers.recurring)
        register_periodic_job(name="surveys.themes", every=timedelta(hours=6), run=triggers.rebuild_themes)
        register_evaluation("sentiment", evaluate.add_arguments, evaluate.handle,
                            help="survey-comment sentiment: --train TRAIN.csv --test TEST.csv")
