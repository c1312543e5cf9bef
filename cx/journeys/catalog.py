"""Matching events to the touchpoint catalog (cx.journeys.models.TouchpointDefinition)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cx.journeys.models import Department, Stage, TouchpointDefinition

_KIND_CHARS = re.compile(r"[^a-z0-9_.:\-]+")
# Who owns a touchpoint nobody catalogued yet, by stage (shown as "unowned" in triage until mapped).
DEFAULT_OWNER = {
    Stage.AWARENESS: Department.MARKETING, Stage.CONSIDERATION: Department.MARKETING,
    Stage.PURCHASE: Department.SALES, Stage.ONBOARDING: Department.PRODUCT, Stage.USAGE: Department.PRODUCT,
    Stage.SUPPORT: Department.SUPPORT, Stage.LOYALTY: Department.MARKETING, Stage.ADVOCACY: Department.MARKETING,
}


@dataclass(frozen=True)
class CatalogEntry:
    id: int
    event: str
    property_name: str
    property_value: str
    name: str
    stage: str
    channel: str
    department: str


def catalog_entries() -> list[CatalogEntry]:
    return [CatalogEntry(id=d.pk, event=d.event, property_name=d.property_name, property_value=d.property_value,
                         name=d.name, stage=d.stage, channel=d.channel, department=d.department)
            for d in TouchpointDefinition.objects.order_by("pk")]


class CatalogIndex:
    """Look-ups by event name; an entry with a property condition beats the plain one for the same event."""

    def __init__(self, entries: list[CatalogEntry]) -> None:
        self.by_event: dict[str, list[CatalogEntry]] = {}
        for entry in entries:
            self.by_event.setdefault(entry.event, []).append(entry)
        for items in self.by_event.values():
            items.sort(key=lambda e: e.property_name == "")

    def match(self, event: str, properties: dict[str, Any]) -> CatalogEntry | None:
        for entry in self.by_event.get(event, ()):
            if not entry.property_name:
                return entry
            value = properties.get(entry.property_name)
            if value is not None and str(value) == entry.property_value:
                return entry
        return None


def event_kind(mtype: str, event: str) -> str:
    """The timeline kind of a tracked message: page.viewed, screen.viewed or the slugged event name."""
    if mtype in ("page", "screen"):
        return f"{mtype}.viewed"
    slug = _KIND_CHARS.sub("_", event.strip().lower()).strip("_.:-")[:100]
    return slug or "event"
