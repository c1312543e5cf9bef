from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class IntentsConfig(AppConfig):
    name = "cx.intents"
    label = "intents"
    verbose_name = "Intents"
    nav_item = NavItem(label="Intents", url_name="intents:admin", order=80, admin_only=True)

    def ready(self) -> None:
        from cx.core.evaluation import register_evaluation
        from cx.core.periodic import register_periodic_job
        from cx.core.training import register_trainer
        from cx.customers.registry import register_customer_data_handler
        from cx.intents import evaluation, services, training
        from cx.intents.customer_data import IntentExamplesHandler
        from cx.tickets.hooks import register_ticket_observer

        register_ticket_observer("intents", services.on_ticket_change)
        # Checks hourly; retrains when the admin's interval has passed and agents added examples since.
        register_periodic_job(name="intents.retrain", every=timedelta(hours=1), run=services.intent_retrain_job)
        register_customer_data_handler(IntentExamplesHandler())
        register_evaluation("intents", evaluation.add_intents_arguments, evaluation.handle_intents,
                            help="Train on TRAIN.csv (text,category), classify TEST.csv; per-intent report, texts/s")
        register_evaluation("kb", evaluation.add_kb_arguments, evaluation.handle_kb,
                            help="One article per intent from Bitext TRAIN.csv responses; ask TEST.csv instructions")
        register_trainer("intents", training.add_intents_arguments, training.handle_intents,
                         help="(import labelled examples, then) train and activate the intent classifier")
