"""Apps that keep data about a customer register a handler here, so merge, export and erasure reach
all of it without this app importing apps above it in the layer order."""

from __future__ import annotations

from typing import Protocol


class CustomerDataHandler(Protocol):
    name: str

    def export(self, *, customer_id: int) -> list[dict]:
        """Everything this app holds about the customer, as JSON-ready dicts."""

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        """Move the source customer's records to the target; return the moved ids (kept for undo)."""

    def erase(self, *, customer_id: int) -> int:
        """Strip personal data, keeping anonymous aggregates; return how many records changed."""


_handlers: dict[str, CustomerDataHandler] = {}


def register_customer_data_handler(handler: CustomerDataHandler) -> None:
    _handlers[handler.name] = handler


def customer_data_handlers() -> list[CustomerDataHandler]:
    return [_handlers[name] for name in sorted(_handlers)]
