"""Demo journeys for `cxdesk demo`: about 10,000 people going ads -> site -> checkout -> usage -> support ->
repeat purchase, where the service they get changes what they do next.

The story (deterministic per seed): people arrive from an ad (utm_source google/facebook/newsletter) or
directly, browse pages, sign up, start a checkout (a failed payment sometimes gets in the way), order, use the
product, and some meet a delayed delivery or a bug and contact support. Support quality (resolved on first
contact or not, hours waited) drives their survey score, and the score drives whether they buy again or go
quiet (churn). So the friction finder surfaces "Payment Failed" and "Delivery Delayed" before support
contacts, slow support before low scores, and the journey map shows lower conversion after poor service.

Events are written straight into the analytics store (bulk insert, de-duplicated by messageId, so a second
run adds nothing) for a "Demo website" source; people are tracked profiles, a share of them linked to the
demo's helpdesk customers, whose timelines get the tracked events too.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

from django.db import transaction

from cx.customers.models import Customer
from cx.journeys.models import TouchpointDefinition
from cx.journeys.services import touchpoints_record_bulk
from cx.journeys.store import store_engine
from cx.tracking.handler import key_hash
from cx.tracking.identity import _insert_aliases, _insert_profiles
from cx.tracking.loader import _insert_deduplicated
from cx.tracking.models import Profile, Source, SourceKind

DEMO_SOURCE = "Demo website"
DEFAULT_PEOPLE = 10_000
HOUR = 3_600_000
DAY = 24 * HOUR

# event, property condition, touchpoint, stage, channel, department
CATALOG = [
    ("Ad Clicked", "", "", "Ad click", "awareness", "ads", "marketing"),
    ("page", "path", "/", "Home page", "awareness", "web", "marketing"),
    ("page", "path", "/pricing", "Pricing page", "consideration", "web", "marketing"),
    ("Product Viewed", "", "", "Product page", "consideration", "web", "marketing"),
    ("Signed Up", "", "", "Sign-up", "consideration", "web", "product"),
    ("Checkout Started", "", "", "Checkout", "purchase", "web", "sales"),
    ("Payment Failed", "", "", "Payment failure", "purchase", "web", "operations"),
    ("Order Completed", "", "", "Order", "purchase", "web", "sales"),
    ("Onboarding Completed", "", "", "Onboarding", "onboarding", "app", "product"),
    ("Feature Used", "", "", "Product use", "usage", "app", "product"),
    ("Delivery Delayed", "", "", "Delayed delivery", "usage", "email", "operations"),
    ("Bug Encountered", "", "", "Bug", "usage", "app", "product"),
    ("Support Contacted", "", "", "Support contact", "support", "chat", "support"),
    ("Issue Resolved", "", "", "Issue resolved", "support", "chat", "support"),
    ("survey_answered", "", "", "Survey answer", "loyalty", "email", "support"),
    ("Repeat Order", "", "", "Repeat purchase", "loyalty", "web", "sales"),
    ("Referral Sent", "", "", "Referral", "advocacy", "web", "marketing"),
]


def _journey(rng: random.Random, start: int) -> list[tuple[str, str, int, dict[str, Any]]]:
    """One person's events: (type, event, ts_ms, properties)."""
    events: list[tuple[str, str, int, dict[str, Any]]] = []
    t = start

    def add(mtype: str, event: str, props: dict[str, Any] | None = None, *, gap_hours: float = 0.2) -> None:
        nonlocal t
        t += int(rng.expovariate(1 / max(gap_hours, 0.01)) * HOUR) + 1000
        events.append((mtype, event, t, props or {}))

    source = rng.choices(["google", "facebook", "newsletter", "direct"], [4, 3, 1, 2])[0]
    if source != "direct":
        add("track", "Ad Clicked", {"utm_source": source, "campaign": rng.choice(["spring", "brand", "retarget"])})
    add("page", "page", {"path": "/", "utm_source": source})
    for _ in range(rng.randrange(0, 4)):
        add("track", "Product Viewed", {"product": f"P-{rng.randrange(1, 13)}"}, gap_hours=0.1)
    if rng.random() < 0.55:
        add("page", "page", {"path": "/pricing"}, gap_hours=0.1)
    intent = {"google": 0.55, "facebook": 0.35, "newsletter": 0.65, "direct": 0.5}[source]
    if rng.random() > intent:
        return events  # bounced
    add("track", "Signed Up", {"plan": rng.choice(["free", "pro", "team"])}, gap_hours=1)
    if rng.random() > 0.7:
        return events
    add("track", "Checkout Started", {"cart_value": rng.randrange(20, 400)}, gap_hours=24)
    payment_failed = rng.random() < 0.15
    if payment_failed:
        add("track", "Payment Failed", {"reason": rng.choice(["card_declined", "3ds_timeout"])}, gap_hours=0.05)
        if rng.random() < 0.45:
            return events  # gave up
    add("track", "Order Completed", {"total": rng.randrange(20, 400), "first_order": True}, gap_hours=0.2)
    if rng.random() < 0.8:
        add("track", "Onboarding Completed", {}, gap_hours=24)
    for _ in range(rng.randrange(1, 8)):
        add("track", "Feature Used", {"feature": rng.choice(["reports", "export", "sharing", "api"])}, gap_hours=48)
    delayed = rng.random() < 0.2
    bug = rng.random() < 0.15
    if delayed:
        add("track", "Delivery Delayed", {"days": rng.randrange(2, 10)}, gap_hours=12)
    if bug:
        add("track", "Bug Encountered", {"area": rng.choice(["sync", "billing", "login"])}, gap_hours=24)
    contact_p = 0.08 + 0.5 * delayed + 0.45 * bug + 0.35 * payment_failed
    quality = None
    if rng.random() < contact_p:
        first_contact = rng.random() < 0.6
        wait = rng.choice([0.5, 2, 8, 30]) if first_contact else rng.choice([8, 30, 72])
        add("track", "Support Contacted", {"channel": rng.choice(["chat", "email", "phone"]),
                                           "reason": "delivery" if delayed else "bug" if bug else "payment"},
            gap_hours=2)
        add("track", "Issue Resolved", {"first_contact": first_contact, "hours": wait}, gap_hours=wait)
        quality = (1.0 if first_contact else 0.3) * (1.0 if wait <= 8 else 0.5)
    if rng.random() < 0.6:
        mean = 8.5 if quality is None else 3 + 6 * quality
        if delayed and quality is None:
            mean -= 2
        score = max(0, min(10, round(rng.gauss(mean, 1.5))))
        add("touchpoint", "survey_answered", {"score": score, "survey": "CSAT"}, gap_hours=24)
    else:
        score = None
    loyalty = 0.5 if score is None else 0.1 + 0.07 * score
    if quality is not None and quality < 0.5:
        loyalty *= 0.6
    for _ in range(3):
        if rng.random() > loyalty:
            break
        add("track", "Repeat Order", {"total": rng.randrange(20, 400)}, gap_hours=24 * 20)
        for _ in range(rng.randrange(0, 3)):
            add("track", "Feature Used", {"feature": rng.choice(["reports", "export", "sharing"])}, gap_hours=72)
    if score is not None and score >= 9 and rng.random() < 0.3:
        add("track", "Referral Sent", {}, gap_hours=48)
    return events


def _source() -> Source:
    source = Source.objects.filter(name=DEMO_SOURCE).first()
    if source is None:
        # The demo never needs the key (events are loaded directly); a random, unknown one is stored.
        import secrets

        key = "wk_demo_" + secrets.token_urlsafe(16)
        source = Source.objects.create(name=DEMO_SOURCE, kind=SourceKind.WEBSITE, channel="web", key_hash=key_hash(key),
                                       key_prefix=key[:10])
    return source


def tracking_demo_load(*, people: int = DEFAULT_PEOPLE, seed: int, now: datetime) -> dict[str, int]:
    """Create (or complete) the demo journeys; returns counts."""
    rng = random.Random(seed * 7919 + 17)
    with transaction.atomic():
        source = _source()
        for event, prop, value, name, stage, channel, department in CATALOG:
            TouchpointDefinition.objects.get_or_create(
                event=event, property_name=prop, property_value=value,
                defaults={"name": name, "stage": stage, "channel": channel, "department": department})
    user_ids = [f"demo-{seed}-{i}" for i in range(people)]
    existing = dict(Profile.objects.filter(user_id__in=user_ids).values_list("user_id", "pk")) if people else {}
    customers = list(Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
                     .order_by("pk").values_list("pk", flat=True)[: people // 4])
    linked = set(Profile.objects.filter(customer_id__in=customers).values_list("customer_id", flat=True))
    with transaction.atomic():
        missing = [u for u in user_ids if u not in existing]
        created = dict(zip(missing, _insert_profiles(missing), strict=True))
        _insert_aliases(list(created.items()))
        existing.update(created)
        customer_of: dict[int, int] = {}
        free = [c for c in customers if c not in linked]
        for user_id, customer_id in zip(user_ids, free, strict=False):
            customer_of[existing[user_id]] = customer_id
        for profile_id, customer_id in customer_of.items():
            Profile.objects.filter(pk=profile_id, customer__isnull=True).update(customer_id=customer_id)
        customer_of.update(dict(Profile.objects.filter(pk__in=[existing[u] for u in user_ids[: len(customers)]],
                                                       customer__isnull=False).values_list("pk", "customer_id")))
    end = int(now.timestamp() * 1000)
    start = end - 180 * DAY
    rows: list[tuple] = []
    timeline: list[dict[str, Any]] = []
    catalog = {(e, p, v): (stage, channel) for e, p, v, _, stage, channel, _ in CATALOG}
    for i, user_id in enumerate(user_ids):
        person = existing[user_id]
        customer_id = customer_of.get(person)
        for n, (mtype, event, ts, props) in enumerate(_journey(rng, start + rng.randrange(0, 170 * DAY))):
            if ts > end:
                break
            message_id = f"demo-{seed}-{i}-{n}"
            stage = channel = None
            if mtype == "touchpoint":
                stage, channel = "loyalty", "email"
            rows.append((message_id, f"src:{source.pk}" if mtype != "touchpoint" else "demo",
                         mtype, event, person, customer_id, ts, ts, channel, stage,
                         json.dumps(props, separators=(",", ":"))))
            if customer_id is not None:
                key = (event, "path", props.get("path", "")) if mtype == "page" else (event, "", "")
                mapped = catalog.get(key, ("usage", "web"))
                kind = "page.viewed" if mtype == "page" else event.lower().replace(" ", "_")
                timeline.append({"customer_id": customer_id, "kind": kind, "channel": mapped[1], "stage": mapped[0],
                                 "occurred_at": datetime.fromtimestamp(ts / 1000, now.tzinfo),
                                 # As the loader writes them: a tracked event's name travels in its properties.
                                 "properties": {"event": event, **props} if mtype == "track" else props,
                                 "source": f"tracking:{source.pk}", "external_id": message_id})
    with store_engine(write=True) as engine:
        engine.begin()
        inserted = _insert_deduplicated(engine, rows)
        engine.commit()
    touchpoints_records = touchpoints_record_bulk(timeline) if timeline and inserted else 0
    return {"people": people, "events": inserted, "linked_customers": len(customer_of),
            "timeline_touchpoints": touchpoints_records}

