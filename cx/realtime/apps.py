from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "cx.realtime"
    label = "realtime"
    verbose_name = "Realtime"
