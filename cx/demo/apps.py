from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "cx.demo"
    label = "demo"
    verbose_name = "Demo data"
