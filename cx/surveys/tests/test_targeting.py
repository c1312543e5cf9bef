"""Targeting rules of in-app surveys, as pure functions: page rules (exact, contains, wildcard; include and
exclude), event rules with property filters, and their validation (field and reason)."""

from __future__ import annotations

import pytest

from cx.surveys.targeting import (
    TargetingError,
    clean_event_rules,
    clean_page_rules,
    event_matches,
    page_matches,
    wildcard_match,
)


def rules(*items):
    return clean_page_rules([{"action": a, "match": m, "value": v} for a, m, v in items])


@pytest.mark.parametrize(("url", "expected"), [
    ("https://shop.example.com/pricing", True),
    ("https://shop.example.com/pricing/", True),          # a trailing slash is the same page
    ("https://shop.example.com/pricing?plan=pro", True),  # a path rule ignores the query
    ("https://shop.example.com/pricing#faq", True),
    ("https://shop.example.com/pricing/team", False),
    ("https://shop.example.com/", False),
])
def test_an_exact_path_rule_matches_that_page_only(url, expected):
    assert page_matches(rules(("include", "exact", "/pricing")), url) is expected


def test_an_exact_url_rule_compares_the_whole_address_without_the_fragment():
    targeted = rules(("include", "exact", "https://shop.example.com/pricing"))
    assert page_matches(targeted, "https://shop.example.com/pricing#faq")
    assert not page_matches(targeted, "https://other.example.com/pricing")


def test_a_path_rule_with_a_query_compares_the_query_too():
    targeted = rules(("include", "exact", "/search?q=refund"))
    assert page_matches(targeted, "https://shop.example.com/search?q=refund")
    assert not page_matches(targeted, "https://shop.example.com/search?q=shoes")


def test_contains_is_a_substring_of_the_whole_url():
    targeted = rules(("include", "contains", "checkout"))
    assert page_matches(targeted, "https://shop.example.com/cart/checkout/step-2")
    assert page_matches(targeted, "https://shop.example.com/?from=checkout")
    assert not page_matches(targeted, "https://shop.example.com/cart")


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("/blog/*", "/blog/how-to-return", True),
    ("/blog/*", "/blog/", True),
    ("/blog/*", "/blogs/x", False),
    ("/docs/*/install", "/docs/v2/install", True),
    ("/docs/*/install", "/docs/v2/install/linux", False),
    ("*.pdf", "/files/terms.pdf", True),
    ("*", "/anything/at/all", True),
    ("/a*b*c", "/aXbYc", True),
    ("/a*b*c", "/aXcYb", False),
    ("/a.b", "/aXb", False),  # no regular expressions: a dot is a dot
    ("/a*a", "/a", False),    # the two literal parts must not overlap
])
def test_wildcards_are_anchored_and_star_is_any_run_of_characters(pattern, text, expected):
    assert wildcard_match(pattern, text) is expected


def test_a_wildcard_url_rule_matches_across_hosts_and_paths():
    targeted = rules(("include", "wildcard", "https://*.example.com/account/*"))
    assert page_matches(targeted, "https://app.example.com/account/billing")
    assert not page_matches(targeted, "https://app.example.org/account/billing")


def test_exclude_wins_over_include_and_excludes_alone_target_every_other_page():
    targeted = rules(("include", "wildcard", "/account/*"), ("exclude", "exact", "/account/delete"))
    assert page_matches(targeted, "https://x.example/account/billing")
    assert not page_matches(targeted, "https://x.example/account/delete")
    assert not page_matches(targeted, "https://x.example/pricing")
    only_excludes = rules(("exclude", "contains", "/admin"))
    assert page_matches(only_excludes, "https://x.example/pricing")
    assert not page_matches(only_excludes, "https://x.example/admin/users")


def test_no_page_rules_means_every_page():
    assert page_matches([], "https://x.example/anything")
    assert not page_matches([], "")


def events(*items):
    return clean_event_rules(list(items))


def test_an_event_rule_matches_the_event_name_and_every_filter():
    targeted = events({"event": "checkout_completed", "filters": [
        {"property": "plan", "operator": "equals", "value": "pro"},
        {"property": "total", "operator": "greater_than", "value": 100}]})
    assert event_matches(targeted, "checkout_completed", {"plan": "pro", "total": 150})
    assert event_matches(targeted, "checkout_completed", {"plan": "pro", "total": "150.5"})  # numeric text
    assert not event_matches(targeted, "checkout_completed", {"plan": "pro", "total": 50})
    assert not event_matches(targeted, "checkout_completed", {"plan": "free", "total": 150})
    assert not event_matches(targeted, "checkout_completed", {"plan": "pro"})
    assert not event_matches(targeted, "checkout_started", {"plan": "pro", "total": 150})


def test_event_rules_are_alternatives_and_filters_are_optional():
    targeted = events({"event": "signed_up"}, {"event": "Order Completed", "filters": []})
    assert event_matches(targeted, "signed_up", None)
    assert event_matches(targeted, "Order Completed", {})
    assert not event_matches(targeted, "order completed", {})  # names are exact


@pytest.mark.parametrize(("prop", "operator", "value", "properties", "expected"), [
    ("n", "equals", 1, {"n": 1.0}, True),
    ("n", "equals", "100", {"n": 100}, True),
    ("trial", "equals", True, {"trial": True}, True),
    ("trial", "equals", "true", {"trial": True}, True),
    ("trial", "equals", True, {"trial": False}, False),
    ("plan", "not_equals", "pro", {"plan": "free"}, True),
    ("plan", "not_equals", "pro", {}, True),
    ("tier", "contains", "GOLD", {"tier": "gold-plus"}, True),
    ("n", "less_than", 3, {"n": 2}, True),
    ("n", "less_than", 3, {"n": "many"}, False),
    ("coupon", "exists", None, {"coupon": "X"}, True),
    ("coupon", "exists", None, {"coupon": None}, False),
])
def test_property_filters(prop, operator, value, properties, expected):
    targeted = events({"event": "e", "filters": [{"property": prop, "operator": operator, "value": value}]})
    assert event_matches(targeted, "e", properties) is expected


@pytest.mark.parametrize(("rule", "field", "reason"), [
    ({"action": "include", "match": "regex", "value": "/x"}, "page_rules[0].match", "one of exact, contains, wildcard"),
    ({"action": "maybe", "match": "exact", "value": "/x"}, "page_rules[0].action", "include or exclude"),
    ({"action": "include", "match": "exact", "value": ""}, "page_rules[0].value",
     "a URL, a path starting with / or a part of a URL"),
    ({"action": "include", "match": "exact", "value": "/a*"}, "page_rules[0].value",
     "no * in an exact rule (use wildcard)"),
    ({"action": "exclude", "match": "wildcard", "value": "*"}, "page_rules[0].value",
     "excluding every page would never show the survey"),
    ({"action": "include", "match": "contains", "value": "/a b"}, "page_rules[0].value", "no spaces (URLs have none)"),
    ({"action": "include", "match": "exact", "value": "/x", "regex": "."}, "page_rules[0].regex", "unknown field"),
])
def test_invalid_page_rules_name_the_field_and_the_reason(rule, field, reason):
    with pytest.raises(TargetingError) as caught:
        clean_page_rules([rule])
    assert caught.value.fields == {field: reason}


def test_invalid_event_rules_name_the_field_and_the_reason():
    with pytest.raises(TargetingError) as caught:
        clean_event_rules([{"event": "", "filters": []},
                           {"event": "paid", "filters": [{"property": "total", "operator": "greater_than",
                                                          "value": "lots"},
                                                         {"property": "plan", "operator": "like", "value": "p"}]}])
    assert caught.value.fields == {
        "event_rules[0].event": "an event name of 1 to 100 letters, digits, spaces or _ . : / -",
        "event_rules[1].filters[0].value": "a number",
        "event_rules[1].filters[1].operator": "one of equals, not_equals, contains, greater_than, less_than, exists",
    }
    with pytest.raises(TargetingError) as caught:
        clean_page_rules("everything")
    assert caught.value.fields == {"page_rules": "a list of rules"}
