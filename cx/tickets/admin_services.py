"""Admin writes for ticket configuration: the statuses agents pick from and the typed custom fields.

Each function is one atomic, audited action that needs admin access. Statuses keep their category for life
(tickets copy it into ``status_category``), and custom fields keep their key and type (stored values depend
on both): to change those, add a new status or field and deactivate the old one.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.tickets.models import CustomField, CustomFieldType, StatusCategory, TicketStatus

MAX_STATUS_NAME = 60
MAX_FIELD_LABEL = 100
MAX_FIELD_KEY = 50
MAX_OPTION = 100
MAX_OPTIONS = 500
MAX_POSITION = 2_147_483_647  # the largest value a PositiveIntegerField holds on every database
_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
KEY_RULE = f"lowercase letters, digits, - and _, starting with a letter, at most {MAX_FIELD_KEY} characters"

STATUS_UPDATABLE = {"name", "position", "is_active", "is_default"}
FIELD_UPDATABLE = {"label", "options", "required_on_solve", "is_active", "position"}
# Asked for, but refused with a reason rather than an "unknown field".
_STATUS_FIXED = {"category": "cannot be changed; add a status in the other category and deactivate this one"}
_FIELD_FIXED = {
    "key": "cannot be changed; tickets store values under it",
    "field_type": "cannot be changed; add a new field and deactivate this one",
}


# --- Shared checks -------------------------------------------------------------------------------------
def _check_changes(changes: dict[str, Any], allowed: set[str], fixed: dict[str, str]) -> None:
    errors = {name: fixed.get(name, "unknown field") for name in changes if name not in allowed}
    if errors:
        raise ValidationFailed("Some fields cannot be changed.", fields=dict(sorted(errors.items())))


def _clean_text(value: Any, *, field: str, max_length: int, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{what} is required.", fields={field: "required"})
    cleaned = " ".join(value.split())
    if len(cleaned) > max_length:
        raise ValidationFailed(f"{what} is too long.", fields={field: f"at most {max_length} characters"})
    return cleaned


def _clean_position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POSITION:
        raise ValidationFailed("The position is out of range.",
                               fields={"position": f"a whole number 0 to {MAX_POSITION}"})
    return value


def _clean_flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed("Some fields are invalid.", fields={field: "true or false"})
    return value


# --- Statuses ------------------------------------------------------------------------------------------
def _status_name_taken(name: str, *, except_id: int | None = None) -> bool:
    return TicketStatus.objects.filter(name__iexact=name).exclude(pk=except_id).exists()


def _status_snapshot(status: TicketStatus) -> dict[str, Any]:
    return {"name": status.name, "category": status.category, "position": status.position,
            "is_active": status.is_active, "is_default": status.is_default}


@transaction.atomic
def ticket_status_create(
    *,
    actor: User,
    name: str,
    category: str,
    position: int = 0,
    is_default: bool = False,
    token_scope: AccessLevel | None = None,
) -> TicketStatus:
    """Add a status agents can pick; ``is_default`` makes it the one the system uses for its category."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    name = _clean_text(name, field="name", max_length=MAX_STATUS_NAME, what="A status name")
    if category not in StatusCategory.values:
        raise ValidationFailed("Unknown category.", fields={"category": f"one of {', '.join(StatusCategory.values)}"})
    position = _clean_position(position)
    is_default = _clean_flag(is_default, "is_default")
    # Lock the category's statuses: the default moves between them and two admins may act at once.
    siblings = list(TicketStatus.objects.select_for_update().filter(category=category).order_by("pk"))
    if _status_name_taken(name):
        raise Conflict("A status with that name exists.", fields={"name": "already exists"})
    if is_default:
        TicketStatus.objects.filter(pk__in=[s.pk for s in siblings if s.is_default]).update(is_default=False)
    try:
        with transaction.atomic():
            status = TicketStatus.objects.create(name=name, category=category, position=position,
                                                 is_default=is_default)
    except IntegrityError:  # created by someone else between the check and the insert
        raise Conflict("A status with that name exists.", fields={"name": "already exists"}) from None
    audit_record(actor=actor, action="ticket_status.created", target_type="ticket_status", target_id=status.pk,
                 data=_status_snapshot(status))
    return status


@transaction.atomic
def ticket_status_update(
    *,
    actor: User,
    status_id: int,
    changes: dict[str, Any],
    token_scope: AccessLevel | None = None,
) -> TicketStatus:
    """Rename, reorder, (de)activate a status or make it its category's default.

    A category always keeps one active status (the system moves tickets into categories, e.g. a customer
    reply reopens), so deactivating the last one is a conflict. Deactivating the default hands the default
    to the next active status of the category.
    """
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _check_changes(changes, STATUS_UPDATABLE, _STATUS_FIXED)
    found = TicketStatus.objects.filter(pk=status_id).values_list("category", flat=True).first() \
        if isinstance(status_id, int) else None
    if found is None:
        raise NotFound(f"No ticket status with id {status_id}.")
    siblings = {s.pk: s for s in TicketStatus.objects.select_for_update().filter(category=found).order_by("pk")}
    status = siblings[status_id]
    before = _status_snapshot(status)

    name = status.name
    if "name" in changes:
        name = _clean_text(changes["name"], field="name", max_length=MAX_STATUS_NAME, what="A status name")
        if _status_name_taken(name, except_id=status.pk):
            raise Conflict("A status with that name exists.", fields={"name": "already exists"})
    position = _clean_position(changes["position"]) if "position" in changes else status.position
    is_active = _clean_flag(changes["is_active"], "is_active") if "is_active" in changes else status.is_active
    is_default = _clean_flag(changes["is_default"], "is_default") if "is_default" in changes else status.is_default
    others_active = sorted((s for s in siblings.values() if s.pk != status.pk and s.is_active),
                           key=lambda s: (s.position, s.name))
    if not is_active and not others_active:
        raise Conflict(f"This is the last active status in the category {status.get_category_display()}.",
                       fields={"is_active": f"the last active {status.category} status; add another one first"})
    if "is_default" in changes and is_default and not is_active:
        raise ValidationFailed("An inactive status cannot be the default.",
                               fields={"is_default": "only an active status can be the default"})
    if status.is_default and "is_default" in changes and not is_default:
        raise ValidationFailed("A category needs a default status.",
                               fields={"is_default": "make another status of this category the default instead"})

    new_default: TicketStatus | None = None
    if is_default and not status.is_default:
        new_default = status
    elif status.is_default and not is_active:
        new_default = others_active[0]
        is_default = False
    if new_default is not None:
        # The partial unique constraint allows one default per category: clear before setting.
        TicketStatus.objects.filter(category=status.category, is_default=True).update(is_default=False)
        if new_default is not status:
            new_default.is_default = True
            new_default.save(update_fields=["is_default"])

    status.name, status.position, status.is_active, status.is_default = name, position, is_active, is_default
    after = _status_snapshot(status)
    audit = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if not audit:
        return status
    try:
        with transaction.atomic():
            status.save(update_fields=["name", "position", "is_active", "is_default"])
    except IntegrityError:
        raise Conflict("A status with that name exists.", fields={"name": "already exists"}) from None
    data: dict[str, Any] = {"changes": audit}
    if new_default is not None and new_default is not status:
        data["default_moved_to"] = new_default.pk
    audit_record(actor=actor, action="ticket_status.updated", target_type="ticket_status", target_id=status.pk,
                 data=data)
    return status


# --- Custom fields -------------------------------------------------------------------------------------
def _clean_options(options: Any, field_type: str) -> list[str]:
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ValidationFailed("Options must be a list of words.", fields={"options": "a list of strings"})
    cleaned: list[str] = []
    for option in options:
        text = " ".join(option.split())
        if not text:
            raise ValidationFailed("An option is empty.", fields={"options": "options must not be empty"})
        if len(text) > MAX_OPTION:
            raise ValidationFailed("An option is too long.",
                                   fields={"options": f"{text[:20]}… is over {MAX_OPTION} characters"})
        if text in cleaned:
            raise ValidationFailed("An option is listed twice.", fields={"options": f"{text} is listed twice"})
        cleaned.append(text)
    if len(cleaned) > MAX_OPTIONS:
        raise ValidationFailed("Too many options.", fields={"options": f"at most {MAX_OPTIONS}"})
    if field_type == CustomFieldType.DROPDOWN and not cleaned:
        raise ValidationFailed("A dropdown needs options.", fields={"options": "a dropdown needs at least one option"})
    if field_type != CustomFieldType.DROPDOWN and cleaned:
        raise ValidationFailed("Only dropdowns have options.", fields={"options": "only dropdown fields have options"})
    return cleaned


def _field_snapshot(field: CustomField) -> dict[str, Any]:
    return {"key": field.key, "label": field.label, "field_type": field.field_type, "options": field.options,
            "required_on_solve": field.required_on_solve, "is_active": field.is_active, "position": field.position}


@transaction.atomic
def custom_field_create(
    *,
    actor: User,
    key: str,
    label: str,
    field_type: str,
    options: list[str] | None = None,
    required_on_solve: bool = False,
    is_active: bool = True,
    position: int = 0,
    token_scope: AccessLevel | None = None,
) -> CustomField:
    """Add a typed field agents fill in on tickets; a dropdown needs its options."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    errors: dict[str, str] = {}
    if not isinstance(key, str) or len(key) > MAX_FIELD_KEY or not _KEY_RE.match(key):
        errors["key"] = KEY_RULE
    if field_type not in CustomFieldType.values:
        errors["field_type"] = f"one of {', '.join(CustomFieldType.values)}"
    if errors:
        raise ValidationFailed("Some fields are invalid.", fields=errors)
    label = _clean_text(label, field="label", max_length=MAX_FIELD_LABEL, what="A label")
    cleaned_options = _clean_options(options or [], field_type)
    required_on_solve = _clean_flag(required_on_solve, "required_on_solve")
    is_active = _clean_flag(is_active, "is_active")
    position = _clean_position(position)
    if CustomField.objects.filter(key=key).exists():
        raise Conflict("A custom field with that key exists.", fields={"key": "already exists"})
    try:
        with transaction.atomic():
            field = CustomField.objects.create(key=key, label=label, field_type=field_type, options=cleaned_options,
                                               required_on_solve=required_on_solve, is_active=is_active,
                                               position=position)
    except IntegrityError:
        raise Conflict("A custom field with that key exists.", fields={"key": "already exists"}) from None
    audit_record(actor=actor, action="custom_field.created", target_type="custom_field", target_id=field.pk,
                 data=_field_snapshot(field))
    return field


@transaction.atomic
def custom_field_update(
    *,
    actor: User,
    field_id: int,
    changes: dict[str, Any],
    token_scope: AccessLevel | None = None,
) -> CustomField:
    """Relabel, reorder, change a dropdown's options, require it on solve, or (de)activate a field.

    Values already stored on tickets are kept when an option is removed; they are checked again only when
    an agent changes that field on the ticket.
    """
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _check_changes(changes, FIELD_UPDATABLE, _FIELD_FIXED)
    field = CustomField.objects.select_for_update().filter(pk=field_id).first() if isinstance(field_id, int) else None
    if field is None:
        raise NotFound(f"No custom field with id {field_id}.")
    before = _field_snapshot(field)
    if "label" in changes:
        field.label = _clean_text(changes["label"], field="label", max_length=MAX_FIELD_LABEL, what="A label")
    if "options" in changes:
        field.options = _clean_options(changes["options"], field.field_type)
    if "required_on_solve" in changes:
        field.required_on_solve = _clean_flag(changes["required_on_solve"], "required_on_solve")
    if "is_active" in changes:
        field.is_active = _clean_flag(changes["is_active"], "is_active")
    if "position" in changes:
        field.position = _clean_position(changes["position"])
    after = _field_snapshot(field)
    audit = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if not audit:
        return field
    field.save(update_fields=["label", "options", "required_on_solve", "is_active", "position"])
    audit_record(actor=actor, action="custom_field.updated", target_type="custom_field", target_id=field.pk,
                 data={"changes": audit})
    return field
