from datetime import timedelta

from django.apps import AppConfig


class ChurnConfig(AppConfig):
    name = "cx.churn"
    label = "churn"
    verbose_name = "Churn risk"

    def ready(self) -> None:
        from cx.churn import evaluation, services, training
        from cx.churn.customer_data import ChurnScoreHandler
        from cx.core.evaluation import register_evaluation
        from cx.core.periodic import register_periodic_job
        from cx.core.slots import register_template_slot
        from cx.core.training import register_trainer
        from cx.customers.registry import register_customer_data_handler

        register_evaluation("churn", evaluation.add_churn_arguments, evaluation.handle_churn,
                            help="Train the churn model on TRAIN.csv (IBM Telco columns, label Churn), measure it "
                                 "on TEST.csv; last line roc_auc=…")
        register_trainer("churn", training.add_churn_arguments, training.handle_churn,
                         help="train the churn-risk model on this instance's customers and rescore them")
        # Daily: rescore with the newest model, retrain when it is a week old.
        register_periodic_job(name="churn.retrain_rescore", every=timedelta(days=1), run=services.churn_periodic_job)
        register_customer_data_handler(ChurnScoreHandler())
        register_template_slot("customer.detail.panels", "churn/slots/customer_panel.html")
        register_template_slot("insights.tabs", "churn/slots/insights_tab.html")
        register_template_slot("insights.experience.panels", "churn/slots/experience_panel.html")
