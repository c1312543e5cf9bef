"""Template slots: a page of a lower app offers a named place that apps above it fill with a template.

The ticket composer, for example, has the slot ``ticket.composer.tools``; the knowledge base registers its
article-link picker there in ``AppConfig.ready()``. Like navigation, core imports no other app and a slot
stays empty until an app fills it.
"""

from __future__ import annotations

_slots: dict[str, list[str]] = {}


def register_template_slot(slot: str, template: str) -> None:
    templates = _slots.setdefault(slot, [])
    if template not in templates:
        templates.append(template)


def slot_templates(slot: str) -> list[str]:
    return list(_slots.get(slot, ()))
