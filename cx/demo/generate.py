"""Deterministic generation of the demo company's organisations, customers and journeys.

Pure functions of a seed (no Django import, no database): the same seed and the same question pool give
the same people, identities and timelines. Each customer has its own ``random.Random`` derived from the
seed and its number, so customer 17 is the same whether 50 or 3000 customers are generated.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cx.demo.catalog import (
    CAMPAIGNS,
    CUSTOMER_NOTES,
    FEATURES,
    LOCALES,
    ORGANIZATION_NOTES,
    ORGANIZATION_STEMS,
    ORGANIZATION_TRADES,
    PAGES,
    PERSONAL_EMAIL_DOMAINS,
    PLANS,
    REFERRERS,
    REVIEW_SITES,
    SHOP_ITEMS,
    SUPPORT_CHANNEL_WEIGHTS,
    SUPPORT_CHANNELS,
    Locale,
)
from cx.demo.texts import SupportQuestion

TOUCHPOINT_SOURCE = "demo"
HISTORY_DAYS = 540  # about 18 months
MIN_TOUCHPOINTS, MAX_TOUCHPOINTS = 3, 15
ORGANIZATION_SHARE = 0.6  # customers who buy for a company

_LOCALE_WEIGHTS = [locale.weight for locale in LOCALES]
_EURO_RATES = {"EUR": 1.0, "USD": 1.1, "GBP": 0.86, "MXN": 19.0, "PLN": 4.3, "BRL": 5.5, "SEK": 11.5,
               "INR": 92.0, "JPY": 165.0, "AUD": 1.65}
_PLAN_PRICES_EUR = {"Basic": 0.0, "Plus": 4.99, "Business": 19.0, "Business Pro": 49.0}
_NOT_DECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "Ae",
                                 "đ": "d", "Đ": "D", "'": "", " ": ""})


@dataclass(frozen=True)
class OrganizationSpec:
    name: str
    domain: str
    notes: str
    locale: Locale


@dataclass(frozen=True)
class IdentitySpec:
    kind: str
    value: str  # already in the canonical form the customers app stores
    is_primary: bool = False


@dataclass(frozen=True)
class TouchpointSpec:
    kind: str
    channel: str
    stage: str
    occurred_at: datetime
    properties: dict
    external_id: str


@dataclass(frozen=True)
class CustomerSpec:
    number: int
    first_name: str
    last_name: str
    language: str
    time_zone: str
    notes: str
    organization: str | None
    identities: tuple[IdentitySpec, ...]
    touchpoints: tuple[TouchpointSpec, ...]

    @property
    def key_identity(self) -> IdentitySpec:
        """The identity that tells whether this customer was already loaded by an earlier run."""
        return self.identities[0]


@dataclass
class _Taken:
    """Identity values handed out so far in this run (each is unique per kind)."""

    values: dict[str, set[str]] = field(default_factory=dict)

    def claim(self, kind: str, value: str) -> bool:
        seen = self.values.setdefault(kind, set())
        if value in seen:
            return False
        seen.add(value)
        return True


def ascii_slug(text: str) -> str:
    """``Łukasz Wiśniewski`` -> ``lukaszwisniewski``: a safe local part for an email address."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NOT_DECOMPOSED))
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in "-")).lower()


def organization_specs(*, seed: int, count: int = 100) -> list[OrganizationSpec]:
    rng = random.Random(f"cxdesk-demo:{seed}:organizations")
    combos = [(stem, trade) for stem in ORGANIZATION_STEMS for trade in ORGANIZATION_TRADES]
    specs = []
    for stem, trade in rng.sample(combos, min(count, len(combos))):
        locale = rng.choices(LOCALES, weights=_LOCALE_WEIGHTS)[0]
        suffix = rng.choice(locale.legal_suffixes)
        domain = f"{ascii_slug(stem)}-{ascii_slug(trade)}.example"
        specs.append(OrganizationSpec(name=f"{stem} {trade} {suffix}", domain=domain,
                                      notes=rng.choice(ORGANIZATION_NOTES), locale=locale))
    return specs


def _money(rng: random.Random, euros: float, currency: str) -> float:
    amount = euros * _EURO_RATES[currency] * rng.uniform(0.9, 1.1)
    return float(round(amount)) if currency == "JPY" else round(amount, 2)


def _phone(rng: random.Random, locale: Locale) -> str:
    subscriber = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(locale.subscriber_digits - 1))
    return f"+{locale.country_code}{rng.choice(locale.mobile_prefixes)}{subscriber}"


def _email(rng: random.Random, first: str, last: str, domain: str, taken: _Taken) -> str:
    f, la = ascii_slug(first) or "customer", ascii_slug(last) or "demo"
    local = rng.choice([f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}_{la}", f"{la}.{f}",
                        f"{f}.{la}{rng.randint(1, 99)}"])
    candidate, suffix = f"{local}@{domain}", 2
    while not taken.claim("email", candidate):
        candidate, suffix = f"{local}{suffix}@{domain}", suffix + 1
    return candidate


def _identities(rng: random.Random, locale: Locale, first: str, last: str, org: OrganizationSpec | None,
                taken: _Taken) -> tuple[IdentitySpec, ...]:
    identities: list[IdentitySpec] = []
    if rng.random() < 0.93:
        domain = org.domain if org is not None and rng.random() < 0.75 else rng.choice(PERSONAL_EMAIL_DOMAINS)
        identities.append(IdentitySpec("email", _email(rng, first, last, domain, taken), is_primary=True))
    if rng.random() < 0.65 or not identities:
        phone = _phone(rng, locale)
        while not taken.claim("phone", phone):
            phone = _phone(rng, locale)
        identities.append(IdentitySpec("phone", phone, is_primary=True))
        if rng.random() < 0.35 and taken.claim("whatsapp", phone[1:]):
            identities.append(IdentitySpec("whatsapp", phone[1:]))
    if rng.random() < 0.08:
        telegram = str(rng.randrange(10**8, 7 * 10**9))
        if taken.claim("telegram", telegram):
            identities.append(IdentitySpec("telegram", telegram))
    if rng.random() < 0.35:
        external = f"NWP-{rng.randrange(10**6, 10**7)}"
        if taken.claim("external", external):
            identities.append(IdentitySpec("external", external))
    return tuple(identities)


def _journey_stages(rng: random.Random, count: int) -> list[str]:
    """Stages in the order the customer went through them: a funnel first, then life as a customer."""
    if rng.random() < 0.12:  # never bought: looked around and left
        count = min(count, 5)
        looking = max(1, count // 2)
        return ["awareness"] * looking + ["consideration"] * (count - looking)
    funnel = ["awareness", "consideration", "purchase"]
    remaining = count - len(funnel)
    if remaining <= 0:
        return funnel
    onboarding = 2 if remaining > 6 and rng.random() < 0.5 else 1
    tail: list[str] = []
    if remaining - onboarding >= 4 and rng.random() < 0.5:
        tail = ["loyalty"] + (["advocacy"] if rng.random() < 0.5 else [])
    middle = rng.choices(["usage", "support", "purchase"], weights=[50, 42, 8],
                         k=max(0, remaining - onboarding - len(tail)))
    return funnel + ["onboarding"] * onboarding + middle + tail


def _funnel_length(stages: Sequence[str]) -> int:
    """How many leading stages are the funnel and onboarding (the first purchase included)."""
    length, bought = 0, False
    for stage in stages:
        if stage in {"awareness", "consideration", "onboarding"} or (stage == "purchase" and not bought):
            bought = bought or stage == "purchase"
            length += 1
        else:
            break
    return length


def _times(rng: random.Random, stages: Sequence[str], now: datetime) -> list[datetime]:
    """Increasing times: the funnel within weeks, onboarding right after, the rest spread to the end."""
    latest = now - timedelta(minutes=10)
    start = now - timedelta(days=rng.uniform(21, HISTORY_DAYS))
    # Some customers went quiet months ago; most are still active.
    end = start + (latest - start) * (1.0 if rng.random() < 0.6 else rng.uniform(0.3, 0.95))
    times: list[datetime] = []
    cursor = start
    for stage in stages[: _funnel_length(stages)]:
        cursor += timedelta(days=rng.uniform(0.02, 3 if stage == "onboarding" else 8))
        times.append(min(cursor, end))
    spread = sorted(rng.uniform(cursor.timestamp(), max(cursor.timestamp(), end.timestamp()))
                    for _ in range(len(stages) - len(times)))
    times += [datetime.fromtimestamp(t, tz=now.tzinfo) for t in spread]
    return [min(t, latest).replace(microsecond=0) for t in times]


def _touchpoint(rng: random.Random, stage: str, locale: Locale, questions: Sequence[SupportQuestion]
                ) -> tuple[str, str, dict]:
    """Kind, channel and properties of one touchpoint in ``stage``."""
    currency = locale.currency
    if stage == "awareness":
        return rng.choice([
            ("page.viewed", "web", {"page": rng.choice(PAGES), "referrer": rng.choice(REFERRERS)}),
            ("campaign.clicked", "email", {"campaign": rng.choice(CAMPAIGNS)}),
            ("ad.clicked", "web", {"campaign": rng.choice(CAMPAIGNS), "network": rng.choice(REFERRERS[:4])}),
            ("webinar.registered", "web", {"webinar": "Business banking in 20 minutes"}),
        ])
    if stage == "consideration":
        return rng.choice([
            ("pricing.viewed", "web", {"plan": rng.choice(PLANS)}),
            ("plans.compared", "web", {"plans": rng.sample(PLANS, 2)}),
            ("presales.chat", "chat", {"topic": rng.choice(["fees abroad", "business account", "card limits",
                                                             "switching from my bank"])}),
            ("demo.requested", "web", {"team_size": rng.choice([2, 5, 12, 40])}),
            ("trial.started", "in-app", {"plan": rng.choice(PLANS[1:])}),
        ])
    if stage == "purchase":
        if rng.random() < 0.7:
            plan = rng.choice(PLANS)
            return ("subscription.started", rng.choice(["web", "in-app", "phone"]),
                    {"plan": plan, "amount": _money(rng, _PLAN_PRICES_EUR[plan], currency), "currency": currency,
                     "billing": rng.choice(["monthly", "yearly"])})
        item = rng.choice(SHOP_ITEMS)
        return ("order.completed", rng.choice(["web", "in-app"]),
                {"order_id": f"NW-{rng.randrange(100000, 999999)}", "item": item,
                 "amount": _money(rng, rng.uniform(15, 120), currency), "currency": currency})
    if stage == "onboarding":
        return rng.choice([
            ("account.activated", "in-app", {"verification": rng.choice(["passport", "id card", "driving licence"])}),
            ("card.activated", "in-app", {"card": rng.choice(["physical", "virtual"])}),
            ("welcome_email.opened", "email", {"email": f"welcome-{rng.randint(1, 3)}"}),
            ("onboarding.call", "phone", {"duration_minutes": rng.randint(5, 40)}),
        ])
    if stage == "usage":
        return rng.choice([
            ("feature.used", "in-app", {"feature": rng.choice(FEATURES)}),
            ("app.login", rng.choice(["in-app", "web"]), {"device": rng.choice(["ios", "android", "browser"])}),
            ("payment.sent", "in-app", {"amount": _money(rng, rng.uniform(5, 400), currency), "currency": currency}),
            ("statement.downloaded", "web", {"month": rng.randint(1, 12)}),
        ])
    if stage == "support":
        question = questions[rng.randrange(len(questions))]
        channel = rng.choices(SUPPORT_CHANNELS, weights=SUPPORT_CHANNEL_WEIGHTS)[0]
        kind = "help_center.searched" if channel == "self-service" else "support.requested"
        properties = {"text": question.text, "intent": question.intent, "text_source": question.dataset}
        if channel != "self-service":
            properties["resolution"] = rng.choices(["solved", "escalated", "reopened"], weights=[80, 12, 8])[0]
            properties["first_response_minutes"] = int(rng.expovariate(1 / 45)) + 1
        return kind, channel, properties
    if stage == "loyalty":
        if rng.random() < 0.6:
            score = rng.choices(range(11), weights=[1, 1, 1, 2, 2, 4, 5, 9, 15, 16, 14])[0]
            return "survey.answered", rng.choice(["email", "in-app"]), {"survey": "nps", "score": score}
        plan = rng.choice(PLANS[1:])
        return ("subscription.renewed", "self-service",
                {"plan": plan, "amount": _money(rng, _PLAN_PRICES_EUR[plan] * 12, currency), "currency": currency})
    # advocacy
    return rng.choice([
        ("referral.sent", rng.choice(["whatsapp", "in-app", "email"]), {"invited": rng.randint(1, 4)}),
        ("review.posted", "web", {"site": rng.choice(REVIEW_SITES), "rating": rng.choice([4, 5, 5, 5])}),
    ])


def customer_specs(*, seed: int, count: int, organizations: Sequence[OrganizationSpec],
                   questions: Sequence[SupportQuestion], now: datetime) -> Iterator[CustomerSpec]:
    """Customers 1..count with their identities and timelines; ``now`` must be time-zone aware."""
    taken = _Taken()
    org_weights = [1 / (rank + 1) ** 0.5 for rank in range(len(organizations))]
    for number in range(1, count + 1):
        rng = random.Random(f"cxdesk-demo:{seed}:customer:{number}")
        org = None
        if organizations and rng.random() < ORGANIZATION_SHARE:
            org = rng.choices(organizations, weights=org_weights)[0]
        if org is not None and rng.random() < 0.85:
            locale = org.locale
        else:
            locale = rng.choices(LOCALES, weights=_LOCALE_WEIGHTS)[0]
        first, last = rng.choice(locale.first_names), rng.choice(locale.last_names)
        identities = _identities(rng, locale, first, last, org, taken)
        stages = _journey_stages(rng, rng.randint(MIN_TOUCHPOINTS, MAX_TOUCHPOINTS))
        touchpoints = []
        for index, (stage, occurred_at) in enumerate(zip(stages, _times(rng, stages, now), strict=True), 1):
            kind, channel, properties = _touchpoint(rng, stage, locale, questions)
            touchpoints.append(TouchpointSpec(kind=kind, channel=channel, stage=stage, occurred_at=occurred_at,
                                              properties=properties, external_id=f"demo-{seed}-{number}-{index}"))
        yield CustomerSpec(
            number=number, first_name=first, last_name=last, language=locale.language,
            time_zone=rng.choice(locale.time_zones),
            notes=rng.choice(CUSTOMER_NOTES) if rng.random() < 0.06 else "",
            organization=org.name if org else None, identities=identities, touchpoints=tuple(touchpoints),
        )
