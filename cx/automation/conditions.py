"""The condition language of triggers and time rules: validation and evaluation over a plain snapshot.

Pure functions, no Django import: the services build a snapshot dict of a ticket (and the change that
happened) and ask ``conditions_match``. Conditions are stored as JSON::

    {"all": [{"field": "channel", "op": "is", "value": "email"}, ...],
     "any": [{"field": "body", "op": "contains", "value": "refund"}, ...]}

Every condition of ``all`` must hold and, when ``any`` is not empty, at least one of ``any``. Validation
names the failing path exactly (``conditions.all[1].op``) so the API and the editor can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from re import _parser as sre_parse  # the stdlib's own regex parser, used to refuse nested repeats
from typing import Any

MAX_CONDITIONS = 50
MAX_LIST_VALUES = 100
MAX_TEXT_VALUE = 500
MAX_PATTERN = 200
# Regexes run on at most this much text, so a long email cannot make one evaluation slow.
MAX_MATCH_TEXT = 20_000

CUSTOM_PREFIX = "custom_fields."
HOURS_FIELDS = ("hours_since_created", "hours_since_updated", "hours_in_status", "hours_since_solved")

# What kind of value each field holds; the kind decides the operators and the value types allowed.
FIELD_KINDS: dict[str, str] = {
    "status_category": "choice",
    "status_id": "id",
    "priority": "ordered_choice",
    "ticket_type": "choice",
    "channel": "choice",
    "team_id": "optional_id",
    "assignee_id": "optional_id",
    "tags": "tags",
    "subject": "text",
    "body": "text",
    "requester.email": "text",
    "requester.organization_id": "optional_id",
    "event": "choice",
    **dict.fromkeys(HOURS_FIELDS, "hours"),
}
# Custom fields get their kind from their type.
CUSTOM_KINDS = {"text": "text", "dropdown": "choice", "number": "number", "checkbox": "bool", "date": "date"}

NULLABLE_FIELDS = {"requester.email"}
# Fields a ticket change reports as [old, new]; only these take changed / changed_to / changed_from.
CHANGEABLE = {"status_category", "status_id", "priority", "ticket_type", "team_id", "assignee_id", "tags", "subject"}
CHANGE_OPS = ("changed", "changed_to", "changed_from")

OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "choice": ("is", "is_not", "in", "not_in"),
    "ordered_choice": ("is", "is_not", "in", "not_in", "gt", "lt", "gte", "lte"),
    "id": ("is", "is_not", "in", "not_in"),
    "optional_id": ("is", "is_not", "in", "not_in"),
    "tags": ("contains", "not_contains"),
    "text": ("is", "is_not", "in", "not_in", "contains", "not_contains", "matches"),
    "number": ("is", "is_not", "in", "not_in", "gt", "lt", "gte", "lte"),
    "bool": ("is", "is_not"),
    "date": ("is", "is_not", "gt", "lt", "gte", "lte"),
    "hours": ("gt", "lt", "gte", "lte"),
}
ALL_OPS = ("is", "is_not", "in", "not_in", "contains", "not_contains", "matches", "gt", "lt", "gte", "lte",
           *CHANGE_OPS)


class InvalidConditions(ValueError):
    """Raised with every problem found, keyed by path (``conditions.all[1].op`` -> reason)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Vocabulary:
    """The values this installation allows: choices per field and its custom fields (key -> type, options)."""

    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)
    custom_fields: Mapping[str, tuple[str, Sequence[str]]] = field(default_factory=dict)


def field_kind(name: str, vocabulary: Vocabulary) -> str | None:
    if name.startswith(CUSTOM_PREFIX):
        definition = vocabulary.custom_fields.get(name[len(CUSTOM_PREFIX):])
        return CUSTOM_KINDS.get(definition[0]) if definition else None
    return FIELD_KINDS.get(name)


def _choices_for(name: str, vocabulary: Vocabulary) -> Sequence[str]:
    if name.startswith(CUSTOM_PREFIX):
        return vocabulary.custom_fields[name[len(CUSTOM_PREFIX):]][1]
    return vocabulary.choices.get(name, ())


_REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None))


def _subpatterns(arg: Any) -> list[Any]:
    """The nested patterns inside one parsed item's argument (groups, branches, lookarounds)."""
    if isinstance(arg, sre_parse.SubPattern):
        return [arg]
    if isinstance(arg, tuple | list):
        return [sub for part in arg for sub in _subpatterns(part)]
    return []


def _nested_repeat(parsed: Any, inside_repeat: bool = False) -> bool:
    """True when a repeated group contains another unbounded repeat, e.g. ``(a+)+``: such patterns can take
    exponential time on a crafted message, and Python's ``re`` has no timeout."""
    for op, arg in parsed:
        if op in _REPEATS:
            _low, high, sub = arg
            unbounded = high == sre_parse.MAXREPEAT or high > 10
            if inside_repeat and unbounded:
                return True
            if _nested_repeat(sub, inside_repeat or unbounded):
                return True
        elif any(_nested_repeat(sub, inside_repeat) for sub in _subpatterns(arg)):
            return True
    return False


def pattern_problem(pattern: Any) -> str | None:
    """Why a regex cannot be used in a condition, or None when it can."""
    if not isinstance(pattern, str) or not pattern:
        return "a regular expression (text)"
    if len(pattern) > MAX_PATTERN:
        return f"at most {MAX_PATTERN} characters"
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    if _nested_repeat(parsed):
        return "nested repetition such as (a+)+ is not allowed (it can be very slow)"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _scalar_problem(kind: str, name: str, value: Any, vocabulary: Vocabulary, *, allow_null: bool) -> str | None:
    """Why ``value`` cannot be compared with field ``name`` of ``kind``; None when it can."""
    if value is None:
        # Null means "not set": possible for optional ids, custom fields and the requester's email only.
        nullable = kind == "optional_id" or name.startswith(CUSTOM_PREFIX) or name in NULLABLE_FIELDS
        return None if allow_null and nullable else "a value is required"
    if kind in ("choice", "ordered_choice"):
        choices = _choices_for(name, vocabulary)
        if value not in choices:
            return f"one of {', '.join(choices)}"
        return None
    if kind in ("id", "optional_id"):
        return None if _is_id(value) else "a positive whole number (an id)"
    if kind in ("text", "tags"):
        if not isinstance(value, str) or not value.strip():
            return "non-empty text"
        return f"at most {MAX_TEXT_VALUE} characters" if len(value) > MAX_TEXT_VALUE else None
    if kind in ("number", "hours"):
        if not _is_number(value):
            return "a number"
        return "zero or more" if kind == "hours" and value < 0 else None
    if kind == "bool":
        return None if isinstance(value, bool) else "true or false"
    if kind == "date":
        try:
            date.fromisoformat(value if isinstance(value, str) else "")
        except ValueError:
            return "a date like 2026-11-23"
        return None
    return "not comparable"


def _value_problem(kind: str, name: str, op: str, value: Any, vocabulary: Vocabulary) -> str | None:
    if op == "changed":
        return None if value is None else "changed takes no value (leave value out)"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return "a non-empty list"
        if len(value) > MAX_LIST_VALUES:
            return f"at most {MAX_LIST_VALUES} values"
        for item in value:
            problem = _scalar_problem(kind, name, item, vocabulary, allow_null=True)
            if problem:
                return f"every item must be {problem}"
        return None
    if op == "matches":
        return pattern_problem(value)
    if kind == "tags":
        items = value if isinstance(value, list) else [value]
        if not items or len(items) > MAX_LIST_VALUES:
            return "a tag or a non-empty list of tags"
        for item in items:
            problem = _scalar_problem("tags", name, item, vocabulary, allow_null=False)
            if problem:
                return f"a tag or a list of tags ({problem})"
        return None
    if op in ("contains", "not_contains"):
        return _scalar_problem("text", name, value, vocabulary, allow_null=False)
    allow_null = op in ("is", "is_not", "changed_to", "changed_from")
    return _scalar_problem(kind, name, value, vocabulary, allow_null=allow_null)


def _condition_errors(item: Any, path: str, vocabulary: Vocabulary, *, time_rule: bool) -> dict[str, str]:
    if not isinstance(item, dict):
        return {path: 'an object like {"field": ..., "op": ..., "value": ...}'}
    extra = sorted(set(item) - {"field", "op", "value"})
    if extra:
        return {f"{path}.{extra[0]}": "unknown key (use field, op and value)"}
    name, op = item.get("field"), item.get("op")
    if not isinstance(name, str) or not name:
        return {f"{path}.field": "required"}
    kind = field_kind(name, vocabulary)
    if kind is None:
        if name.startswith(CUSTOM_PREFIX):
            return {f"{path}.field": f"no active custom field with key {name[len(CUSTOM_PREFIX):]!r}"}
        return {f"{path}.field": f"unknown field {name!r}"}
    if time_rule and name in ("event", "body"):
        return {f"{path}.field": f"{name} is only known when a ticket changes; time rules cannot use it"}
    if not isinstance(op, str) or op not in ALL_OPS:
        return {f"{path}.op": f"unknown operator {op!r}" if op is not None else "required"}
    changeable = name in CHANGEABLE or name.startswith(CUSTOM_PREFIX)
    allowed = OPS_BY_KIND[kind] + (CHANGE_OPS if changeable and not time_rule else ())
    if op not in allowed:
        return {f"{path}.op": f"{op} does not apply to {name}; use one of {', '.join(allowed)}"}
    if op != "changed" and "value" not in item:
        return {f"{path}.value": "required"}
    problem = _value_problem(kind, name, op, item.get("value"), vocabulary)
    return {f"{path}.value": problem} if problem else {}


def validate_conditions(raw: Any, vocabulary: Vocabulary, *, time_rule: bool = False,
                        path: str = "conditions") -> dict[str, list[dict[str, Any]]]:
    """Return the conditions in their stored shape, or raise InvalidConditions naming every bad path."""
    if not isinstance(raw, dict):
        raise InvalidConditions({path: 'an object like {"all": [...], "any": [...]}'})
    errors: dict[str, str] = {}
    extra = sorted(set(raw) - {"all", "any"})
    if extra:
        errors[f"{path}.{extra[0]}"] = "unknown key (use all and any)"
    cleaned: dict[str, list[dict[str, Any]]] = {"all": [], "any": []}
    for group in ("all", "any"):
        items = raw.get(group, [])
        if not isinstance(items, list):
            errors[f"{path}.{group}"] = "a list of conditions"
            continue
        if len(items) > MAX_CONDITIONS:
            errors[f"{path}.{group}"] = f"at most {MAX_CONDITIONS} conditions"
            continue
        for index, item in enumerate(items):
            item_errors = _condition_errors(item, f"{path}.{group}[{index}]", vocabulary, time_rule=time_rule)
            errors.update(item_errors)
            if not item_errors:
                condition = {"field": item["field"], "op": item["op"]}
                if item["op"] != "changed":
                    condition["value"] = item["value"]
                cleaned[group].append(condition)
    if not errors and not cleaned["all"] and not cleaned["any"]:
        errors[path] = "at least one condition is required"
    if not errors and time_rule and not any(c["field"] in HOURS_FIELDS for c in cleaned["all"]):
        # Without a time condition a rule would act on every open ticket within minutes of being saved.
        errors[f"{path}.all"] = f"a time rule needs an hours condition in all ({', '.join(HOURS_FIELDS)})"
    if errors:
        raise InvalidConditions(errors)
    return cleaned


# --- Evaluation ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _rank_of(name: str, value: Any, rank: Mapping[str, Mapping[str, int]]) -> Any:
    order = rank.get(name)
    return order.get(value) if order is not None else value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return False
    try:
        if op == "gt":
            return actual > expected
        if op == "lt":
            return actual < expected
        if op == "gte":
            return actual >= expected
        return actual <= expected
    except TypeError:
        return False  # e.g. a custom field that now holds text where a number was expected


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _field_value(name: str, snapshot: Mapping[str, Any]) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (snapshot.get("custom_fields") or {}).get(name[len(CUSTOM_PREFIX):])
    return snapshot.get(name)


def _change_holds(op: str, name: str, expected: Any, changes: Mapping[str, Sequence[Any]]) -> bool:
    if name not in changes:
        return False
    old, new = changes[name]
    if op == "changed":
        return True
    if name == "tags":  # a tag added (changed_to) or removed (changed_from)
        old_tags, new_tags = {_fold(t) for t in old or []}, {_fold(t) for t in new or []}
        wanted = _fold(expected)
        return (wanted in new_tags and wanted not in old_tags) if op == "changed_to" else \
            (wanted in old_tags and wanted not in new_tags)
    return _fold(new if op == "changed_to" else old) == _fold(expected)


def condition_holds(condition: Mapping[str, Any], snapshot: Mapping[str, Any], *,
                    rank: Mapping[str, Mapping[str, int]] | None = None) -> bool:
    """Whether one validated condition holds for a snapshot (a dict of field -> value plus ``changes``)."""
    name, op, expected = condition["field"], condition["op"], condition.get("value")
    if op in CHANGE_OPS:
        return _change_holds(op, name, expected, snapshot.get("changes") or {})
    actual = _field_value(name, snapshot)
    if name == "tags":
        tags = {_fold(t) for t in actual or []}
        wanted = {_fold(t) for t in _as_list(expected)}
        found = bool(tags & wanted)
        return found if op == "contains" else not found
    if op == "is":
        return _fold(actual) == _fold(expected)
    if op == "is_not":
        return _fold(actual) != _fold(expected)
    if op == "in":
        return _fold(actual) in [_fold(v) for v in expected]
    if op == "not_in":
        return _fold(actual) not in [_fold(v) for v in expected]
    if op in ("contains", "not_contains"):
        found = isinstance(actual, str) and _fold(expected) in _fold(actual)
        return found if op == "contains" else not found
    if op == "matches":
        return isinstance(actual, str) and _compiled(expected).search(actual[:MAX_MATCH_TEXT]) is not None
    order = rank or {}
    return _compare(op, _rank_of(name, actual, order), _rank_of(name, expected, order))


def conditions_match(conditions: Mapping[str, Any], snapshot: Mapping[str, Any], *,
                     rank: Mapping[str, Mapping[str, int]] | None = None) -> bool:
    """All of ``all`` and, if ``any`` has conditions, at least one of them."""
    every = conditions.get("all") or []
    some = conditions.get("any") or []
    if not every and not some:
        return False  # an empty rule never acts (validation refuses it anyway)
    if not all(condition_holds(c, snapshot, rank=rank) for c in every):
        return False
    return not some or any(condition_holds(c, snapshot, rank=rank) for c in some)


def uses_hours_in_status(conditions: Mapping[str, Any]) -> bool:
    return any(c.get("field") == "hours_in_status" for group in ("all", "any") for c in conditions.get(group) or [])
