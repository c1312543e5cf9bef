from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "cx.search"
    label = "search"
    verbose_name = "Search"
