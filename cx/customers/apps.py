from django.apps import AppConfig

from cx.core.navigation import NavItem


class CustomersConfig(AppConfig):
    name = "cx.customers"
    label = "customers"
    verbose_name = "Customers"
    nav_item = NavItem(label="Customers", url_name="customers:list", order=20)
