from django.apps import AppConfig


class ChurnConfig(AppConfig):
    name = "cx.churn"
    label = "churn"
    verbose_name = "Churn risk"
