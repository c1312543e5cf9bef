from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "cx.intents"
    label = "intents"
    verbose_name = "Intents"
