from django.apps import AppConfig

from cx.core.navigation import NavItem


class AccountsConfig(AppConfig):
    name = "cx.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    nav_item = NavItem(label="Admin", url_name="admin:index", order=90, admin_only=True)
