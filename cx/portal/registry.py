"""What other apps show a signed-in customer on the portal's home page, without the portal importing them.

An app (a sibling of the portal in the layers, so neither imports the other) names a function on its
AppConfig: ``portal_panel = "cx.<app>.<module>.<function>"``. The portal calls ``function(customer)``, which
returns ``None`` or ``{"heading": str, "links": [{"label": str, "url": str, "detail": str}]}``. The surveys
app uses it to list the customer's open survey invitations (links to the public survey pages)."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.utils.module_loading import import_string

logger = logging.getLogger("cx.portal")


def portal_panels(customer) -> list[dict[str, Any]]:
    panels = []
    for config in apps.get_app_configs():
        path = getattr(config, "portal_panel", "")
        if not path:
            continue
        try:
            panel = import_string(path)(customer)
        except Exception:
            logger.exception("portal panel of %s failed", config.label)
            continue
        if panel and panel.get("links"):
            panels.append(panel)
    return panels
