"""The condition language on its own: validation names the failing path, evaluation over plain snapshots.
No database: conditions.py is pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cx.automation.conditions import (
    InvalidConditions,
    Vocabulary,
    condition_holds,
    conditions_match,
    pattern_problem,
    validate_conditions,
)
from cx.automation.placeholders import render_placeholders, unknown_placeholders

VOCABULARY = Vocabulary(
    choices={
        "status_category": ["new", "open", "pending", "on_hold", "solved", "closed"],
        "priority": ["low", "normal", "high", "urgent"],
        "ticket_type": ["question", "incident", "problem", "task"],
        "channel": ["email", "web", "chat", "whatsapp"],
        "event": ["created", "updated", "replied", "noted", "customer_replied"],
    },
    custom_fields={"plan": ("dropdown", ["free", "pro"]), "seats": ("number", []), "vip": ("checkbox", []),
                   "renewal": ("date", []), "order_ref": ("text", [])},
)
RANK = {"priority": {"low": 0, "normal": 1, "high": 2, "urgent": 3}}


def snapshot(**overrides):
    base = {
        "status_category": "new", "status_id": 1, "priority": "normal", "ticket_type": "question",
        "channel": "email", "team_id": None, "assignee_id": None, "tags": ["billing"],
        "subject": "Refund for order 1234", "body": "I want my MONEY back", "requester.email": "rita@example.com",
        "requester.organization_id": 7, "custom_fields": {"plan": "pro", "seats": 12, "vip": True},
        "hours_since_created": 5.0, "hours_since_updated": 1.0, "hours_in_status": 5.0,
        "hours_since_solved": None, "event": "created", "changes": {},
    }
    base.update(overrides)
    return base


def errors_of(raw, **kwargs) -> dict[str, str]:
    with pytest.raises(InvalidConditions) as caught:
        validate_conditions(raw, VOCABULARY, **kwargs)
    return caught.value.errors


def holds(field, op, value=None, **snap) -> bool:
    condition = {"field": field, "op": op} if value is None and op == "changed" else \
        {"field": field, "op": op, "value": value}
    return condition_holds(condition, snapshot(**snap), rank=RANK)


# --- validation --------------------------------------------------------------------------------------------

def test_valid_conditions_come_back_in_the_stored_shape():
    cleaned = validate_conditions({"all": [{"field": "priority", "op": "changed"}]}, VOCABULARY)
    assert cleaned == {"all": [{"field": "priority", "op": "changed"}], "any": []}


def test_an_unknown_operator_is_named_by_its_path():
    raw = {"all": [{"field": "channel", "op": "is", "value": "email"}, {"field": "channel", "op": "equals",
                                                                       "value": "email"}]}
    assert errors_of(raw) == {"conditions.all[1].op": "unknown operator 'equals'"}


def test_an_unknown_field_is_named_by_its_path():
    assert errors_of({"any": [{"field": "mood", "op": "is", "value": "sad"}]}) == {
        "conditions.any[0].field": "unknown field 'mood'"}


def test_an_operator_that_does_not_fit_the_field_lists_the_ones_that_do():
    errors = errors_of({"all": [{"field": "tags", "op": "gt", "value": 3}]})
    assert errors["conditions.all[0].op"].startswith("gt does not apply to tags; use one of contains")


@pytest.mark.parametrize(("condition", "reason"), [
    ({"field": "priority", "op": "is", "value": "mega"}, "one of low, normal, high, urgent"),
    ({"field": "assignee_id", "op": "is", "value": "alex"}, "a positive whole number (an id)"),
    ({"field": "assignee_id", "op": "in", "value": []}, "a non-empty list"),
    ({"field": "hours_in_status", "op": "gt", "value": "3 days"}, "a number"),
    ({"field": "hours_in_status", "op": "gt", "value": -1}, "zero or more"),
    ({"field": "custom_fields.vip", "op": "is", "value": "yes"}, "true or false"),
    ({"field": "custom_fields.plan", "op": "is", "value": "gold"}, "one of free, pro"),
    ({"field": "custom_fields.renewal", "op": "gt", "value": "next week"}, "a date like 2026-11-23"),
    ({"field": "priority", "op": "changed", "value": "high"}, "changed takes no value (leave value out)"),
    ({"field": "status_category", "op": "is", "value": None}, None),
])
def test_values_of_the_wrong_type_are_refused(condition, reason):
    if reason is None:
        assert errors_of({"all": [condition]})["conditions.all[0].value"] == "a value is required"
    else:
        assert errors_of({"all": [condition]}) == {"conditions.all[0].value": reason}


def test_a_bad_regex_and_a_slow_regex_are_refused():
    assert "not a valid regular expression" in errors_of(
        {"all": [{"field": "body", "op": "matches", "value": "refund("}]})["conditions.all[0].value"]
    assert "nested repetition" in errors_of(
        {"all": [{"field": "body", "op": "matches", "value": "(a+)+$"}]})["conditions.all[0].value"]
    assert errors_of({"all": [{"field": "body", "op": "matches", "value": "x" * 201}]}) == {
        "conditions.all[0].value": "at most 200 characters"}
    assert pattern_problem(r"refund|money\s+back") is None


def test_unknown_custom_fields_missing_values_and_extra_keys_are_refused():
    errors = errors_of({"all": [{"field": "custom_fields.nope", "op": "is", "value": 1},
                                {"field": "subject", "op": "contains"},
                                {"field": "subject", "op": "contains", "value": "x", "note": "hi"}],
                        "none": []})
    assert errors == {
        "conditions.all[0].field": "no active custom field with key 'nope'",
        "conditions.all[1].value": "required",
        "conditions.all[2].note": "unknown key (use field, op and value)",
        "conditions.none": "unknown key (use all and any)",
    }


def test_an_empty_rule_is_refused():
    assert errors_of({"all": [], "any": []}) == {"conditions": "at least one condition is required"}
    assert errors_of([]) == {"conditions": 'an object like {"all": [...], "any": [...]}'}


def test_time_rules_need_an_hours_condition_and_cannot_use_change_operators():
    assert "needs an hours condition" in errors_of(
        {"all": [{"field": "status_category", "op": "is", "value": "pending"}]}, time_rule=True)["conditions.all"]
    assert errors_of({"all": [{"field": "hours_in_status", "op": "gt", "value": 1},
                              {"field": "priority", "op": "changed"}]}, time_rule=True)[
        "conditions.all[1].op"].startswith("changed does not apply")
    assert "time rules cannot use it" in errors_of(
        {"all": [{"field": "hours_in_status", "op": "gt", "value": 1},
                 {"field": "event", "op": "is", "value": "created"}]}, time_rule=True)["conditions.all[1].field"]


# --- evaluation --------------------------------------------------------------------------------------------

def test_text_operators_ignore_case():
    assert holds("body", "contains", "money")
    assert holds("subject", "is", "refund FOR order 1234")
    assert holds("requester.email", "in", ["RITA@example.com", "x@example.com"])
    assert holds("body", "not_contains", "invoice")
    assert holds("body", "matches", r"money\s+back")
    assert not holds("body", "matches", r"^money")


def test_nulls_compare_as_values_for_is_and_never_for_ranges():
    assert holds("assignee_id", "is", None)
    assert not holds("assignee_id", "is_not", None)
    assert holds("assignee_id", "in", [None, 4])
    assert not holds("hours_since_solved", "gte", 0)
    assert holds("team_id", "not_in", [1, 2])


def test_priority_compares_by_rank():
    assert holds("priority", "gt", "low", priority="high")
    assert not holds("priority", "gt", "high", priority="high")
    assert holds("priority", "gte", "high", priority="urgent")
    assert holds("priority", "lt", "urgent", priority="normal")


def test_tags_contain_any_of_the_given_tags():
    assert holds("tags", "contains", "billing")
    assert holds("tags", "contains", ["vip", "BILLING"])
    assert holds("tags", "not_contains", ["vip", "spam"])
    assert not holds("tags", "not_contains", ["vip", "billing"])


def test_custom_fields_compare_by_their_type():
    assert holds("custom_fields.plan", "is", "pro")
    assert holds("custom_fields.seats", "gte", 10)
    assert holds("custom_fields.vip", "is", True)
    assert not holds("custom_fields.seats", "gt", 100)
    assert holds("custom_fields.order_ref", "is", None)


def test_change_operators_read_the_changes_of_the_event():
    changes = {"priority": ["normal", "high"], "tags": [["billing"], ["billing", "vip"]],
               "custom_fields.plan": ["free", "pro"]}
    assert holds("priority", "changed", changes=changes)
    assert holds("priority", "changed_to", "high", changes=changes)
    assert holds("priority", "changed_from", "normal", changes=changes)
    assert not holds("priority", "changed_to", "urgent", changes=changes)
    assert not holds("team_id", "changed", changes=changes)
    assert holds("tags", "changed_to", "vip", changes=changes)  # vip was added
    assert not holds("tags", "changed_to", "billing", changes=changes)  # billing was already there
    assert holds("custom_fields.plan", "changed_to", "pro", changes=changes)


def test_all_must_hold_and_one_of_any():
    conditions = {"all": [{"field": "channel", "op": "is", "value": "email"}],
                  "any": [{"field": "body", "op": "contains", "value": "refund"},
                          {"field": "body", "op": "contains", "value": "money"}]}
    assert conditions_match(conditions, snapshot(), rank=RANK)
    assert not conditions_match(conditions, snapshot(body="Hello"), rank=RANK)
    assert not conditions_match(conditions, snapshot(channel="chat"), rank=RANK)
    assert not conditions_match({"all": [], "any": []}, snapshot())


def test_regexes_only_look_at_the_start_of_very_long_messages():
    long_body = "a" * 50_000 + "refund"
    assert not holds("body", "matches", "refund", body=long_body)
    assert holds("body", "contains", "refund", body=long_body)


@given(st.text(max_size=200))
def test_validation_never_crashes_and_only_raises_invalid_conditions(text):
    for raw in ({"all": [{"field": "body", "op": "matches", "value": text}]},
                {"all": [{"field": text, "op": text, "value": text}]}, {"any": text}):
        try:
            validate_conditions(raw, VOCABULARY)
        except InvalidConditions as exc:
            assert all(path.startswith("conditions") for path in exc.errors)


# --- placeholders -----------------------------------------------------------------------------------------

def test_placeholders_render_once_as_plain_text_with_fallbacks():
    values = {"customer.first_name": "{{agent.name}}", "ticket.id": 42, "agent.first_name": ""}
    text = "Hi {{ customer.first_name }}, ticket #{{ticket.id}} is with {{agent.first_name|our team}}."
    assert render_placeholders(text, values) == "Hi {{agent.name}}, ticket #42 is with our team."


def test_unknown_placeholders_are_reported():
    assert unknown_placeholders("{{ticket.id}} {{customer.password}} {{ 'x'|upper }}") == ["customer.password"]
