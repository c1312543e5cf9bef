from datetime import timedelta
from typing import Any, TextIO

from django.apps import AppConfig


class ChurnConfig(AppConfig):
    name = "cx.churn"
    label = "churn"
    verbose_name = "Churn risk"

    def ready(self) -> None:
        from cx.churn import services
        from cx.churn.customer_data import ChurnScoreHandler
        from cx.core.evaluation import register_evaluation
        from cx.core.periodic import register_periodic_job
        from cx.core.slots import register_template_slot
        from cx.core.training import register_trainer
        from cx.customers.registry import register_customer_data_handler

        register_evaluation("churn", _eval_arguments, _eval_handle,
                            help="Train the churn model on TRAIN.csv (IBM Telco columns, label Churn), measure it "
                                 "on TEST.csv; last line roc_auc=…")
        register_trainer("churn", _train_arguments, _train_handle,
                         help="train the churn-risk model on this instance's customers and rescore them")
        # Daily: rescore with the newest model, retrain when it is a week old.
        register_periodic_job(name="churn.retrain_rescore", every=timedelta(days=1), run=services.churn_periodic_job)
        register_customer_data_handler(ChurnScoreHandler())
        register_template_slot("customer.detail.panels", "churn/slots/customer_panel.html")
        register_template_slot("insights.tabs", "churn/slots/insights_tab.html")
        register_template_slot("insights.experience.panels", "churn/slots/experience_panel.html")


# The evaluation and training modules import scikit-learn and pandas (2 s and ~100 MB); only the commands
# that use them load them, not every web process.
def _eval_arguments(parser) -> None:
    from cx.churn import evaluation

    evaluation.add_churn_arguments(parser)


def _eval_handle(options: dict[str, Any], stdout: TextIO) -> None:
    from cx.churn import evaluation

    evaluation.handle_churn(options, stdout)


def _train_arguments(parser) -> None:
    from cx.churn import training

    training.add_churn_arguments(parser)


def _train_handle(options: dict[str, Any], stdout: TextIO) -> None:
    from cx.churn import training

    training.handle_churn(options, stdout)
