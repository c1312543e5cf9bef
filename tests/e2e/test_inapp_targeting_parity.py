"""The widget's copy of the in-app targeting rules (cx/surveys/static/surveys/in_app.js, run in Chromium)
decides exactly as the server's (cx/surveys/targeting.py) on a table of pages and tracked events, so a card
the widget asks for is the card the server agrees to show."""

from __future__ import annotations

import json

from playwright.sync_api import Browser

from cx.surveys.targeting import clean_event_rules, clean_page_rules, event_matches, page_matches

PAGE_RULES = [
    [{"action": "include", "match": "exact", "value": "/pricing"}],
    [{"action": "include", "match": "exact", "value": "https://shop.example.com/pricing"}],
    [{"action": "include", "match": "exact", "value": "/search?q=refund"}],
    [{"action": "include", "match": "contains", "value": "checkout"}],
    [{"action": "include", "match": "wildcard", "value": "/blog/*"}],
    [{"action": "include", "match": "wildcard", "value": "https://*.example.com/account/*"}],
    [{"action": "include", "match": "wildcard", "value": "*.pdf"}],
    [{"action": "include", "match": "wildcard", "value": "/a*b*c"}],
    [{"action": "include", "match": "wildcard", "value": "/account/*"},
     {"action": "exclude", "match": "exact", "value": "/account/delete"}],
    [{"action": "exclude", "match": "contains", "value": "/admin"}],
    [],
]
URLS = [
    "https://shop.example.com/pricing", "https://shop.example.com/pricing/", "https://shop.example.com/pricing#faq",
    "https://shop.example.com/pricing?plan=pro", "https://shop.example.com/pricing/team",
    "https://shop.example.com/search?q=refund", "https://shop.example.com/search?q=shoes",
    "https://shop.example.com/cart/checkout/step-2", "https://shop.example.com/?from=checkout",
    "https://shop.example.com/blog/", "https://shop.example.com/blog/how-to", "https://shop.example.com/blogs/x",
    "https://app.example.com/account/billing", "https://app.example.org/account/billing",
    "https://shop.example.com/account/delete", "https://shop.example.com/files/terms.pdf",
    "https://shop.example.com/aXbYc", "https://shop.example.com/aXcYb", "https://shop.example.com/admin/users",
    "https://shop.example.com",
]
EVENT_RULES = [
    [{"event": "checkout_completed", "filters": [{"property": "plan", "operator": "equals", "value": "pro"},
                                                 {"property": "total", "operator": "greater_than", "value": 100}]}],
    [{"event": "e", "filters": [{"property": "n", "operator": "equals", "value": "100"}]}],
    [{"event": "e", "filters": [{"property": "trial", "operator": "equals", "value": True}]}],
    [{"event": "e", "filters": [{"property": "plan", "operator": "not_equals", "value": "pro"}]}],
    [{"event": "e", "filters": [{"property": "tier", "operator": "contains", "value": "GOLD"}]}],
    [{"event": "e", "filters": [{"property": "n", "operator": "less_than", "value": 3}]}],
    [{"event": "e", "filters": [{"property": "coupon", "operator": "exists", "value": None}]}],
]
EVENTS = [
    ("checkout_completed", {"plan": "pro", "total": 150}), ("checkout_completed", {"plan": "pro", "total": "150.5"}),
    ("checkout_completed", {"plan": "pro", "total": 50}), ("checkout_completed", {"plan": "free", "total": 150}),
    ("checkout_started", {"plan": "pro", "total": 150}), ("e", {"n": 100}), ("e", {"n": "100"}), ("e", {"n": 1.5}),
    ("e", {"n": "0x10"}), ("e", {"n": "1_000"}), ("e", {"n": " 2 "}), ("e", {"trial": True}),
    ("e", {"trial": "true"}), ("e", {"trial": False}), ("e", {}), ("e", {"plan": "pro"}), ("e", {"plan": None}),
    ("e", {"tier": "gold-plus"}), ("e", {"coupon": "X"}), ("e", {"coupon": None}),
]


def test_the_widget_and_the_server_agree_on_every_rule(browser: Browser, server_url, e2e_db):
    page = browser.new_context().new_page()
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(url=f"{server_url}/surveys/in-app.js")
    page_rules = [clean_page_rules(rules) for rules in PAGE_RULES]
    event_rules = [clean_event_rules(rules) for rules in EVENT_RULES]
    browser_pages = page.evaluate(
        "([rules, urls]) => rules.map(r => urls.map(u => window.__cxdeskInApp.rules.pageMatches(r, u)))",
        [page_rules, URLS])
    server_pages = [[page_matches(rules, url) for url in URLS] for rules in page_rules]
    assert browser_pages == server_pages
    browser_events = page.evaluate(
        "([rules, events]) => rules.map(r => events.map(e => window.__cxdeskInApp.rules.eventMatches(r, e[0], e[1])))",
        [json.loads(json.dumps(event_rules)), [list(e) for e in EVENTS]])
    server_events = [[event_matches(rules, name, props) for name, props in EVENTS] for rules in event_rules]
    assert browser_events == server_events
    assert any(any(row) for row in server_events) and any(not all(row) for row in server_pages)
