from datetime import timedelta

from django.apps import AppConfig


def _eval_arguments(parser):
    from cx.clv import evaluation  # scipy loads only when the evaluation runs

    evaluation.add_arguments(parser)


def _eval_handle(options, stdout):
    from cx.clv import evaluation

    evaluation.handle(options, stdout)


class ClvConfig(AppConfig):
    name = "cx.clv"
    label = "clv"
    verbose_name = "Customer lifetime value"

    def ready(self) -> None:
        from cx.clv import services
        from cx.clv.customer_data import CustomerClvHandler
        from cx.core.evaluation import register_evaluation
        from cx.core.periodic import register_periodic_job
        from cx.core.slots import register_template_slot
        from cx.customers.registry import register_customer_data_handler

        register_customer_data_handler(CustomerClvHandler())
        # Checks hourly; queues a refit when the admin's interval (default 24 h) has passed.
        register_periodic_job(name="clv.refit", every=timedelta(hours=1), run=services.clv_refit_job)
        register_template_slot("customer.detail.panels", "clv/partials/customer_slot.html")
        register_template_slot("insights.experience.panels", "clv/partials/experience_slot.html")
        register_template_slot("insights.tabs", "clv/partials/tab.html")
        register_evaluation("clv", _eval_arguments, _eval_handle,
                            help="Fit BG/NBD, Pareto/NBD and Gamma-Gamma on CDNOW (shipped with lifetimes) or --data")
