"""The demo company, loaded through the `demo` management command as `cxdesk demo` does: believable,
the same for the same seed, safe to run twice, and fed by the real datasets when they are present."""

from __future__ import annotations

import csv
import io
import stat
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import available_timezones

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from cx.accounts.models import Team, TeamMembership, User
from cx.core.models import AuditEvent
from cx.customers.identities import normalize_identity
from cx.customers.models import Customer, CustomerIdentity, Organization
from cx.demo.catalog import LOCALES
from cx.demo.generate import customer_specs, organization_specs
from cx.demo.services import DEMO_PASSWORD
from cx.demo.texts import DATASETS, SAMPLE_FILE, question_pool
from cx.journeys.models import Stage, Touchpoint

SEED = 11
CUSTOMERS = 50
CHANNELS = {"web", "email", "chat", "phone", "whatsapp", "self-service", "in-app"}
BANKING_ROWS = [
    ("Zebra test: my card from the demo bank never arrived", "card_arrival"),
    ("Zebra test: why was my top-up declined twice?", "top_up_failed"),
    ("Zebra test: I see a payment I do not recognise", "card_payment_not_recognised"),
]
BITEXT_ROWS = [
    ("zebra test: how do I cancel order 1234?", "cancel_order"),
    ("zebra test: need to change my shipping address", "change_shipping_address"),
    ("zebra test: where is my invoice for last month", "get_invoice"),
]


@pytest.fixture(autouse=True)
def demo_settings(settings, tmp_path):
    # Demo agents get real password hashes; a fast hasher keeps each test from spending seconds on PBKDF2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CXDESK_HOME = tmp_path / "home"
    settings.CXDESK_HOME.mkdir()
    return settings


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """A data dir shaped like ../shared/data, with a few recognisable rows in each dataset."""
    root = tmp_path / "data"
    (root / "banking77").mkdir(parents=True)
    (root / "bitext_customer_support").mkdir()
    with (root / "banking77" / "train.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(BANKING_ROWS)
    with (root / "bitext_customer_support" / "train.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["context", "role", "instruction", "intent", "entity_type", "entity_value", "start_offset",
                         "end_offset", "category", "tags", "response"])
        for text, intent in BITEXT_ROWS:
            writer.writerow(["customer support", "virtual assistant", text, intent, "", "", "", "", "ORDER", "BIL",
                             "I understand.\n\n1. Log in.\n2. Open {{Order History}}."])
    return root


def run_demo(**options) -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, quiet=True, **options)
    return out.getvalue()


def demo_customers() -> list[tuple]:
    """Every demo customer as plain values, ordered by its number in the demo."""
    rows = []
    customers = (Customer.objects.filter(touchpoints__source="demo").distinct()
                 .select_related("organization").prefetch_related("identities", "touchpoints"))
    for customer in customers:
        # Only the helpdesk timeline; tracked website events (cx.tracking.demo) are checked in cx/tracking/tests.
        timeline = sorted((t for t in customer.touchpoints.all() if t.source == "demo"),
                          key=lambda t: int(t.external_id.rsplit("-", 1)[1]))
        number = int(timeline[0].external_id.split("-")[2])
        rows.append((
            number, customer.first_name, customer.last_name, customer.language, customer.time_zone,
            customer.organization.name if customer.organization else None,
            sorted((i.kind, i.value, i.is_primary) for i in customer.identities.all()),
            [(t.kind, t.channel, t.stage, t.properties) for t in timeline],
        ))
    return sorted(rows)


def load_then_forget(**options) -> list[tuple]:
    """Load the demo, read it back, and roll it back so the next load starts from an empty database."""
    savepoint = transaction.savepoint()
    run_demo(**options)
    rows = demo_customers()
    transaction.savepoint_rollback(savepoint)
    return rows


def row_counts() -> dict[str, int]:
    models = (User, Team, TeamMembership, Organization, Customer, CustomerIdentity, Touchpoint, AuditEvent)
    return {model.__name__: model.objects.count() for model in models}


def support_properties() -> list[dict]:
    return list(Touchpoint.objects.filter(source="demo", stage=Stage.SUPPORT).values_list("properties", flat=True))


def test_the_same_seed_gives_the_same_company(db, tmp_path):
    first = load_then_forget(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "none")
    second = load_then_forget(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "none")
    assert len(first) == CUSTOMERS
    assert first == second
    other = load_then_forget(customers=CUSTOMERS, seed=SEED + 1, data_dir=tmp_path / "none")
    assert [row[1:3] for row in other] != [row[1:3] for row in first]


def test_running_the_demo_twice_adds_nothing(db, tmp_path):
    run_demo(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "none")
    before = row_counts()
    output = run_demo(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "none")
    assert row_counts() == before
    assert "Created 0 agents, 0 teams, 0 organisations, 0 customers with 0 touchpoints" in output
    assert f"{CUSTOMERS} customers were already there" in output


def test_a_bigger_run_adds_only_the_missing_customers_and_keeps_the_first_ones(db, tmp_path):
    run_demo(customers=20, seed=SEED, data_dir=tmp_path / "none")
    first_twenty = demo_customers()
    output = run_demo(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "none")
    assert f"{CUSTOMERS - 20} customers with" in output
    assert "20 customers were already there" in output
    assert demo_customers()[:20] == first_twenty
    assert Customer.objects.count() == CUSTOMERS


def test_support_questions_come_from_the_datasets_in_the_data_dir(db, data_dir):
    output = run_demo(customers=CUSTOMERS, seed=SEED, data_dir=data_dir)
    known = {text: ("banking77", intent) for text, intent in BANKING_ROWS}
    known |= {text: ("bitext_customer_support", intent) for text, intent in BITEXT_ROWS}
    questions = support_properties()
    assert questions
    for properties in questions:
        assert known[properties["text"]] == (properties["text_source"], properties["intent"])
    assert {p["text_source"] for p in questions} == {"banking77", "bitext_customer_support"}
    assert "banking77 (3 questions), bitext_customer_support (3 questions)" in output


def test_the_built_in_sample_is_used_when_the_data_dir_is_missing(db, tmp_path):
    output = run_demo(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "does-not-exist")
    with SAMPLE_FILE.open(newline="") as handle:
        sample = {row["text"]: row["intent"] for row in csv.DictReader(handle)}
    assert len(sample) >= 60
    questions = support_properties()
    assert questions
    for properties in questions:
        assert properties["text_source"] == "cxdesk-sample"
        assert sample[properties["text"]] == properties["intent"]
    assert f"cxdesk-sample ({len(sample)} questions)" in output


def test_a_dataset_with_unexpected_columns_is_skipped_with_the_reason(db, data_dir):
    (data_dir / "banking77" / "train.csv").write_text("utterance,label\nhello,greeting\n")
    output = run_demo(customers=10, seed=SEED, data_dir=data_dir)
    assert "skipped banking77" in output
    assert "no column text, category" in output
    assert {p["text_source"] for p in support_properties()} <= {"bitext_customer_support"}


def test_the_demo_company_has_a_team_an_admin_and_believable_customers(db, demo_settings, tmp_path):
    output = run_demo(customers=CUSTOMERS, seed=SEED, data_dir=tmp_path / "none")

    admin = User.objects.get(username="admin")
    assert admin.role == "admin" and admin.is_superuser
    password_file = Path(demo_settings.CXDESK_HOME) / "admin-password.txt"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert admin.check_password(password_file.read_text().strip())

    agents = User.objects.exclude(username="admin")
    assert Counter(agents.values_list("role", flat=True)) == {"team_lead": 3, "agent": 8, "analyst": 1}
    assert all(agent.check_password(DEMO_PASSWORD) for agent in agents)
    assert f"DEMO ONLY - these agents all have the password {DEMO_PASSWORD}" in output
    assert Team.objects.count() == 4
    leads = TeamMembership.objects.filter(is_lead=True).select_related("user")
    assert sorted(m.user.role for m in leads) == ["team_lead"] * 3
    assert TeamMembership.objects.count() == agents.count()
    assert Organization.objects.count() == 100

    now = timezone.now()
    customers = Customer.objects.prefetch_related("identities", "touchpoints")
    assert customers.count() == CUSTOMERS
    assert customers.filter(organization__isnull=False).exists()
    assert customers.filter(organization__isnull=True).exists()
    for customer in customers:
        assert customer.first_name and customer.last_name and customer.language and customer.time_zone
        identities = list(customer.identities.all())
        assert identities
        for identity in identities:
            if identity.kind == "email":
                assert identity.value.split("@")[1].split(".")[-1] in {"com", "net", "org", "example"}
                assert "example" in identity.value.split("@")[1]
            if identity.kind == "phone":
                assert identity.value.startswith("+")
        # Only the helpdesk timeline; tracked website events (cx.tracking.demo) are checked in cx/tracking/tests.
        timeline = sorted((t for t in customer.touchpoints.all() if t.source == "demo"),
                          key=lambda t: int(t.external_id.rsplit("-", 1)[1]))
        assert 3 <= len(timeline) <= 15
        assert timeline[0].stage == Stage.AWARENESS
        times = [t.occurred_at for t in timeline]
        assert times == sorted(times)
        assert now - timedelta(days=550) < times[0] and times[-1] <= now
        assert {t.channel for t in timeline} <= CHANNELS
        assert {t.source for t in timeline} == {"demo"}
    assert set(Touchpoint.objects.values_list("stage", flat=True)) == set(Stage.values)
    assert Touchpoint.objects.filter(channel="whatsapp").exists()
    kinds = set(CustomerIdentity.objects.values_list("kind", flat=True))
    assert {"email", "phone", "whatsapp", "external"} <= kinds


def test_an_existing_admin_means_the_demo_creates_no_other(db, admin_user, demo_settings, tmp_path):
    run_demo(customers=5, seed=SEED, data_dir=tmp_path / "none")
    assert not User.objects.filter(username="admin").exists()
    assert not (Path(demo_settings.CXDESK_HOME) / "admin-password.txt").exists()


def test_the_real_datasets_have_the_columns_the_demo_reads():
    # Whichever datasets are on this machine (../shared/data) must load with the headers texts.py expects.
    root = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    pool = question_pool(root)
    present = {source.name for source in DATASETS if (root / source.relative_path).is_file()}
    assert not pool.skipped
    assert set(pool.counts) == (present or {"cxdesk-sample"})
    assert len(pool.questions) >= 60


def test_generated_identities_are_canonical_and_unique_and_time_zones_exist():
    """3000 customers without a database: values are stored exactly as the customers app normalises them."""
    zones = available_timezones()
    assert all(zone in zones for locale in LOCALES for zone in locale.time_zones)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    questions = question_pool(None).questions
    specs = list(customer_specs(seed=SEED, count=3000, organizations=organization_specs(seed=SEED),
                                questions=questions, now=now))
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        for identity in spec.identities:
            assert normalize_identity(identity.kind, identity.value) == identity.value
            assert (identity.kind, identity.value) not in seen
            seen.add((identity.kind, identity.value))
    # A customer's data depends only on the seed and its number, not on how many are generated.
    fewer = list(customer_specs(seed=SEED, count=20, organizations=organization_specs(seed=SEED),
                                questions=questions, now=now))
    assert fewer == specs[:20]
