from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cx.core"
    label = "core"
    verbose_name = "Core"
