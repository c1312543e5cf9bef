"""Identity resolution through the Tracking API and the loader."""

import base64
import json

import pytest
from django.db import connection
from django.test import Client

from cx.core.models import AuditEvent
from cx.customers.models import CustomerIdentity
from cx.customers.services import customer_create, customer_erase, customer_merge
from cx.journeys.models import Touchpoint
from cx.journeys.services import touchpoint_record
from cx.journeys.store import store_engine
from cx.tracking.loader import load_all
from cx.tracking.models import Profile, ProfileAlias


def _send(key, *messages):
    body = json.dumps({"batch": list(messages)}).encode()
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    response = Client().generic("POST", "/v1/batch", body, content_type="application/json",
                                headers={"Authorization": auth})
    assert response.status_code == 200, response.content
    load_all()


def _people(*message_ids):
    with store_engine() as engine:
        rows = engine.fetch("SELECT message_id, person_id, customer_id FROM analytics_events WHERE message_id IN ("
                            + ", ".join(f"'{m}'" for m in message_ids) + ")")
    return {m: (p, c) for m, p, c in rows}


@pytest.mark.django_db
def test_anonymous_history_merges_into_the_identified_person(source):
    _send(source.write_key, {"type": "page", "anonymousId": "anon-1", "messageId": "p1", "properties": {"path": "/"}},
          {"type": "track", "anonymousId": "anon-1", "event": "Cart", "messageId": "t1"})
    before = _people("p1", "t1")
    assert before["p1"] == before["t1"] and before["p1"][1] is None
    _send(source.write_key, {"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "messageId": "i1",
                             "traits": {"email": "Buyer@Example.com", "name": "Bea Buyer"}},
          {"type": "track", "userId": "user-1", "event": "Order Completed", "messageId": "t2"})
    after = _people("p1", "t1", "t2")
    assert len({p for p, _ in after.values()}) == 1  # one person
    customer = CustomerIdentity.objects.get(value="buyer@example.com").customer
    assert {c for _, c in after.values()} == {customer.pk}
    assert customer.display_name == "Bea Buyer"
    # The customer's timeline now shows the website visit from before the identify, and the order.
    kinds = set(Touchpoint.objects.filter(customer=customer).values_list("kind", flat=True))
    assert kinds == {"page.viewed", "cart", "order_completed"}


@pytest.mark.django_db
def test_alias_links_a_previous_id(source):
    _send(source.write_key, {"type": "track", "anonymousId": "device-9", "event": "Opened", "messageId": "a1"})
    _send(source.write_key, {"type": "alias", "previousId": "device-9", "userId": "user-9", "messageId": "a2"},
          {"type": "track", "userId": "user-9", "event": "Paid", "messageId": "a3"})
    people = _people("a1", "a3")
    assert people["a1"][0] == people["a3"][0]


@pytest.mark.django_db
def test_two_identified_people_are_never_merged_automatically(source):
    _send(source.write_key, {"type": "identify", "userId": "alice", "messageId": "x1", "traits": {}},
          {"type": "identify", "userId": "bob", "messageId": "x2", "traits": {}},
          {"type": "track", "userId": "alice", "event": "A", "messageId": "x3"},
          {"type": "track", "userId": "bob", "event": "B", "messageId": "x4"})
    _send(source.write_key, {"type": "alias", "previousId": "bob", "userId": "alice", "messageId": "x5"})
    people = _people("x3", "x4")
    assert people["x3"][0] != people["x4"][0]
    assert AuditEvent.objects.filter(action="tracking.merge_refused").exists()
    assert Profile.objects.get(user_id="bob").merged_into_id is None


@pytest.mark.django_db
def test_email_links_to_the_helpdesk_customer_and_support_flows_into_the_same_person(source):
    customer = customer_create(actor=None, display_name="Known Person",
                               identities=[{"kind": "email", "value": "known@example.com", "is_primary": True}])
    touchpoint_record(customer=customer, kind="ticket.created", channel="email", stage="support", source="tickets")
    _send(source.write_key, {"type": "identify", "userId": "k-1", "messageId": "k1",
                             "traits": {"email": "known@example.com"}},
          {"type": "track", "userId": "k-1", "event": "Checkout Started", "messageId": "k2"})
    with store_engine() as engine:
        rows = engine.fetch("SELECT event, person_id, customer_id FROM analytics_events ORDER BY event")
    assert {r[0] for r in rows} == {"Checkout Started", "ticket.created"}
    assert len({r[1] for r in rows}) == 1 and {r[2] for r in rows} == {customer.pk}
    assert CustomerIdentity.objects.filter(value="known@example.com").count() == 1  # no duplicate customer


@pytest.mark.django_db
def test_an_admin_customer_merge_merges_the_people(source, admin_user):
    _send(source.write_key,
          {"type": "identify", "userId": "u-a", "messageId": "m1", "traits": {"email": "a@example.com"}},
          {"type": "identify", "userId": "u-b", "messageId": "m2", "traits": {"email": "b@example.com"}},
          {"type": "track", "userId": "u-a", "event": "A", "messageId": "m3"},
          {"type": "track", "userId": "u-b", "event": "B", "messageId": "m4"})
    a = CustomerIdentity.objects.get(value="a@example.com").customer
    b = CustomerIdentity.objects.get(value="b@example.com").customer
    assert _people("m3")["m3"][0] != _people("m4")["m4"][0]
    customer_merge(actor=admin_user, source=b, target=a)
    load_all()
    people = _people("m3", "m4")
    assert people["m3"][0] == people["m4"][0]
    assert ProfileAlias.objects.get(distinct_id="u-b").profile.customer_id == a.pk


@pytest.mark.django_db
def test_erasure_empties_tracked_properties(source, admin_user):
    _send(source.write_key,
          {"type": "identify", "userId": "gone", "messageId": "e1", "traits": {"email": "gone@example.com"}},
          {"type": "track", "userId": "gone", "event": "Viewed", "messageId": "e2", "properties": {"secret": "x"}})
    customer = CustomerIdentity.objects.get(value="gone@example.com").customer
    customer_erase(actor=admin_user, customer=customer)
    load_all()
    with store_engine() as engine:
        assert engine.fetch("SELECT properties FROM analytics_events WHERE message_id = 'e2'") == [("{}",)]
    assert not ProfileAlias.objects.filter(distinct_id="gone").exists()



ENGINES = ["duckdb", "postgres"] if connection.vendor == "postgresql" else ["duckdb"]


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.django_db(transaction=True)
def test_the_loader_fills_either_analytics_engine(source, settings, engine_name):
    settings.CXDESK_ANALYTICS_ENGINE = engine_name
    try:
        _check_loader_engine(source, engine_name)
    finally:
        if engine_name == "postgres":  # raw tables outlive the test's flush; leave none for other tests
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS analytics_events")
                cursor.execute("DROP TABLE IF EXISTS analytics_progress")


def _check_loader_engine(source, engine_name):
    _send(source.write_key, {"type": "track", "anonymousId": "v-1", "event": "Seen", "messageId": "s1"},
          {"type": "identify", "anonymousId": "v-1", "userId": "u-1", "messageId": "s2", "traits": {}},
          {"type": "track", "userId": "u-1", "event": "Bought", "messageId": "s3"})
    _send(source.write_key, {"type": "track", "userId": "u-1", "event": "Bought", "messageId": "s3"})  # repeat
    people = _people("s1", "s3")
    assert set(people) == {"s1", "s3"} and people["s1"][0] == people["s3"][0]
    with store_engine() as engine:
        assert engine.dialect == engine_name
        assert engine.fetch("SELECT COUNT(*) FROM analytics_events")[0][0] == 2
