"""Targeting rules of in-app surveys (shown on a host website through the chat widget): which pages, which
tracked events. Pure computation, no Django: the same rules are evaluated by the widget in the browser
(cx/chat/static/chat/widget.js, ``pageMatches`` / ``eventMatches``) and again by the server before a survey
is shown, so a page cannot ask for a survey it is not targeted by.

Page rules: ``{"action": "include" | "exclude", "match": "exact" | "contains" | "wildcard", "value": str}``.
A value starting with ``/`` is compared with the page's path (plus its query when the value has a ``?``);
any other value with the whole URL (without the ``#fragment``). ``exact`` ignores a trailing slash;
``contains`` is a substring test on the whole URL; ``wildcard`` is anchored and ``*`` stands for any run of
characters (no regular expressions). A page is targeted when no exclude rule matches and, if there are
include rules, at least one of them matches.

Event rules: ``{"event": name, "filters": [{"property", "operator", "value"}]}``; a tracked event matches a
rule when its name is equal and every filter holds on its properties (top-level keys).
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

PAGE_ACTIONS = ("include", "exclude")
PAGE_MATCHES = ("exact", "contains", "wildcard")
OPERATORS = ("equals", "not_equals", "contains", "greater_than", "less_than", "exists")
NUMERIC_OPERATORS = ("greater_than", "less_than")
MAX_PAGE_RULES = 20
MAX_EVENT_RULES = 10
MAX_FILTERS = 5
MAX_VALUE_CHARS = 500
_EVENT_NAME = re.compile(r"^[\w .:/-]{1,100}$")
# Decimal numbers as JavaScript's Number() and Python's float() both read them (no 0x…, no 1_000, no inf).
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


class TargetingError(ValueError):
    """A rule is malformed; ``fields`` maps e.g. ``page_rules[0].match`` to the reason."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


# --- validation -------------------------------------------------------------------------------------------

def clean_page_rules(rules: Any) -> list[dict[str, str]]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise TargetingError({"page_rules": "a list of rules"})
    if len(rules) > MAX_PAGE_RULES:
        raise TargetingError({"page_rules": f"at most {MAX_PAGE_RULES} rules"})
    errors: dict[str, str] = {}
    clean = []
    for index, rule in enumerate(rules):
        prefix = f"page_rules[{index}]"
        if not isinstance(rule, dict):
            errors[prefix] = "an object with action, match and value"
            continue
        unknown = set(rule) - {"action", "match", "value"}
        if unknown:
            errors[f"{prefix}.{sorted(unknown)[0]}"] = "unknown field"
        action = rule.get("action", "include")
        match = rule.get("match")
        value = rule.get("value")
        if action not in PAGE_ACTIONS:
            errors[f"{prefix}.action"] = "include or exclude"
        if match not in PAGE_MATCHES:
            errors[f"{prefix}.match"] = "one of exact, contains, wildcard"
        if not isinstance(value, str) or not value.strip():
            errors[f"{prefix}.value"] = "a URL, a path starting with / or a part of a URL"
        elif len(value) > MAX_VALUE_CHARS:
            errors[f"{prefix}.value"] = f"at most {MAX_VALUE_CHARS} characters"
        elif any(ch.isspace() for ch in value.strip()):
            errors[f"{prefix}.value"] = "no spaces (URLs have none)"
        elif match == "exact" and "*" in value:
            errors[f"{prefix}.value"] = "no * in an exact rule (use wildcard)"
        elif match == "wildcard" and value.strip().strip("*") == "" and action == "exclude":
            errors[f"{prefix}.value"] = "excluding every page would never show the survey"
        else:
            clean.append({"action": action, "match": match, "value": value.strip()})
    if errors:
        raise TargetingError(errors)
    return clean


def clean_event_rules(rules: Any) -> list[dict[str, Any]]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise TargetingError({"event_rules": "a list of rules"})
    if len(rules) > MAX_EVENT_RULES:
        raise TargetingError({"event_rules": f"at most {MAX_EVENT_RULES} rules"})
    errors: dict[str, str] = {}
    clean = []
    for index, rule in enumerate(rules):
        prefix = f"event_rules[{index}]"
        if not isinstance(rule, dict):
            errors[prefix] = "an object with event and filters"
            continue
        unknown = set(rule) - {"event", "filters"}
        if unknown:
            errors[f"{prefix}.{sorted(unknown)[0]}"] = "unknown field"
        event = rule.get("event")
        if not isinstance(event, str) or not _EVENT_NAME.match(event.strip()):
            errors[f"{prefix}.event"] = "an event name of 1 to 100 letters, digits, spaces or _ . : / -"
        filters = rule.get("filters") or []
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
            errors[f"{prefix}.filters"] = f"a list of at most {MAX_FILTERS} property filters"
            continue
        clean_filters = []
        for position, item in enumerate(filters):
            where = f"{prefix}.filters[{position}]"
            if not isinstance(item, dict):
                errors[where] = "an object with property, operator and value"
                continue
            prop, operator, value = item.get("property"), item.get("operator"), item.get("value")
            if not isinstance(prop, str) or not 1 <= len(prop.strip()) <= 100:
                errors[f"{where}.property"] = "a property name of 1 to 100 characters"
            if operator not in OPERATORS:
                errors[f"{where}.operator"] = f"one of {', '.join(OPERATORS)}"
            elif operator == "exists":
                value = None
            elif operator in NUMERIC_OPERATORS and _number(value) is None:
                errors[f"{where}.value"] = "a number"
            elif isinstance(value, int | float):  # bool is an int too
                if isinstance(value, float) and not math.isfinite(value):
                    errors[f"{where}.value"] = "a finite number"
            elif not isinstance(value, str) or not value or len(value) > MAX_VALUE_CHARS:
                errors[f"{where}.value"] = f"a text of 1 to {MAX_VALUE_CHARS} characters, a number or true/false"
            if operator in NUMERIC_OPERATORS and isinstance(value, str):
                value = _number(value)
            clean_filters.append({"property": prop.strip() if isinstance(prop, str) else prop,
                                  "operator": operator, "value": value})
        if isinstance(event, str):
            clean.append({"event": event.strip(), "filters": clean_filters})
    if errors:
        raise TargetingError(errors)
    return clean


# --- evaluation -------------------------------------------------------------------------------------------

def _strip_slash(text: str) -> str:
    return text[:-1] if len(text) > 1 and text.endswith("/") else text


def _subject(url: str, value: str) -> tuple[str, str]:
    """What a rule value is compared with: (subject, value), both without a trailing slash."""
    parts = urlsplit(url)
    if value.startswith("/"):
        path = parts.path or "/"
        subject = f"{path}?{parts.query}" if "?" in value and parts.query else path
        return subject, value
    whole = url.split("#", 1)[0]
    return whole, value


def wildcard_match(pattern: str, text: str) -> bool:
    """``*`` matches any run of characters (also none); everything else literally; anchored at both ends."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == text
    if not text.startswith(pieces[0]):
        return False
    position = len(pieces[0])
    for piece in pieces[1:-1]:
        found = text.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    last = pieces[-1]
    return len(text) - position >= len(last) and text.endswith(last)


def page_rule_matches(rule: dict[str, str], url: str) -> bool:
    value = rule["value"]
    if rule["match"] == "contains":
        return value in url
    subject, value = _subject(url, value)
    if rule["match"] == "exact":
        return _strip_slash(subject) == _strip_slash(value)
    return wildcard_match(value, subject) or wildcard_match(value, _strip_slash(subject))


def page_matches(rules: list[dict[str, str]], url: str) -> bool:
    if not isinstance(url, str) or not url:
        return False
    if any(rule["action"] == "exclude" and page_rule_matches(rule, url) for rule in rules):
        return False
    includes = [rule for rule in rules if rule["action"] == "include"]
    return not includes or any(page_rule_matches(rule, url) for rule in includes)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value.strip())
        return number if math.isfinite(number) else None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def values_equal(actual: Any, expected: Any) -> bool:
    """Numbers compare as numbers (so "100" equals 100 and 1.0 equals 1), everything else as text
    (true/false in lower case, as JavaScript writes them)."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return _text(actual) == _text(expected)


def filter_holds(item: dict[str, Any], properties: dict[str, Any]) -> bool:
    operator = item["operator"]
    present = item["property"] in properties and properties[item["property"]] is not None
    if operator == "exists":
        return present
    if not present:
        return operator == "not_equals"
    actual = properties[item["property"]]
    if operator == "equals":
        return values_equal(actual, item["value"])
    if operator == "not_equals":
        return not values_equal(actual, item["value"])
    if operator == "contains":
        return _text(item["value"]).lower() in _text(actual).lower()
    left, right = _number(actual), _number(item["value"])
    if left is None or right is None:
        return False
    return left > right if operator == "greater_than" else left < right


def event_matches(rules: list[dict[str, Any]], name: str, properties: dict[str, Any] | None) -> bool:
    properties = properties if isinstance(properties, dict) else {}
    return any(rule["event"] == name and all(filter_holds(item, properties) for item in rule["filters"])
               for rule in rules)
