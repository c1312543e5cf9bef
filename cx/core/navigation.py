"""Top navigation built from the apps that exist: an app shows a section by declaring ``nav_item``.

This keeps core free of imports from other apps and means a section appears only once it is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: int
    admin_only: bool = False
    # When set, only users with one of these roles (or superusers) see the item, e.g. Insights.
    roles: tuple[str, ...] = ()


def nav_items_for(user) -> list[dict]:
    items: list[NavItem] = []
    for config in apps.get_app_configs():
        item = getattr(config, "nav_item", None)
        if item is not None:
            items.append(item)
    visible = []
    for item in sorted(items, key=lambda i: i.order):
        if item.admin_only and not getattr(user, "is_cx_admin", False):
            continue
        if item.roles and not (getattr(user, "is_superuser", False) or getattr(user, "role", "") in item.roles):
            continue
        visible.append({"label": item.label, "url": reverse(item.url_name), "key": item.url_name.split(":")[0]})
    return visible
