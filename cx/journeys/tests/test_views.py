"""The customer timeline partial and the add-touchpoint form, through the Django test client."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cx.accounts.services import user_create
from cx.customers.models import Customer
from cx.customers.services import customer_create, customer_erase
from cx.journeys.models import Touchpoint
from cx.journeys.services import touchpoint_record
from cx.journeys.views import TIMELINE_PAGE_SIZE

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer() -> Customer:
    return customer_create(actor=None, display_name="Ada Lovelace",
                           identities=[{"kind": "email", "value": "ada@example.com"}])


def record(customer: Customer, kind: str, *, minutes_ago: int, stage: str = "support", **properties):
    return touchpoint_record(customer=customer, kind=kind, channel="email", stage=stage,
                             occurred_at=timezone.now() - timedelta(minutes=minutes_ago), properties=properties,
                             source="tests")


def kinds_in(html: str) -> list[str]:
    return re.findall(r'class="touchpoint-kind">([^<]+)<', html)


def older_link(html: str) -> str | None:
    match = re.search(r'hx-get="([^"]*cursor=[^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_timeline_is_newest_first_and_pages_with_older(agent_user, customer):
    total = TIMELINE_PAGE_SIZE + 5
    for n in range(total):
        record(customer, f"event.n{n:02d}", minutes_ago=total - n)  # event.n00 is the oldest
    client = client_for(agent_user)

    first = client.get(reverse("journeys:customer_timeline", args=[customer.pk]), headers=HTMX).content.decode()
    assert "<html" not in first
    assert kinds_in(first) == [f"event.n{n:02d}" for n in range(total - 1, 4, -1)]
    assert ">Older</a>" in first

    older = client.get(older_link(first), headers=HTMX).content.decode()
    assert kinds_in(older) == ["event.n04", "event.n03", "event.n02", "event.n01", "event.n00"]
    assert "<ol" not in older and 'id="timeline-stage"' not in older  # appended in place of the Older button
    assert ">Older</a>" not in older


def test_timeline_entries_show_kind_channel_stage_time_and_properties(agent_user, customer):
    many = {f"z{n}": f"value{n}" for n in range(8)}
    record(customer, "order.completed", minutes_ago=1, stage="purchase", order_id="A-1001", total=49.9,
           **many)

    html = client_for(agent_user).get(reverse("journeys:customer_timeline", args=[customer.pk]),
                                      headers=HTMX).content.decode()

    assert "order.completed" in html
    assert '<span class="badge">email</span>' in html
    assert '<span class="badge stage-purchase">Purchase</span>' in html
    assert "<time" in html
    assert "order_id:</span> A-1001" in html and "total:</span> 49.9" in html and "z3:</span> value3" in html
    assert "z4:</span>" not in html
    assert "4 more properties" in html and "&quot;z7&quot;: &quot;value7&quot;" in html


def test_timeline_stage_filter_keeps_older_paging_in_the_stage(agent_user, customer):
    for n in range(TIMELINE_PAGE_SIZE + 2):
        record(customer, f"support.n{n:02d}", minutes_ago=100 - n, stage="support")
    record(customer, "order.completed", minutes_ago=1, stage="purchase")
    client = client_for(agent_user)
    url = reverse("journeys:customer_timeline", args=[customer.pk])

    purchases = client.get(url, {"stage": "purchase"}, headers=HTMX).content.decode()
    assert kinds_in(purchases) == ["order.completed"]
    assert '<option value="purchase" selected>' in purchases

    support = client.get(url, {"stage": "support"}, headers=HTMX).content.decode()
    assert "order.completed" not in support
    link = older_link(support)
    assert "stage=support" in link
    rest = client.get(link, headers=HTMX).content.decode()
    assert kinds_in(rest) == ["support.n01", "support.n00"]


def test_unknown_stage_and_malformed_cursor_are_422(agent_user, customer):
    client = client_for(agent_user)
    url = reverse("journeys:customer_timeline", args=[customer.pk])
    response = client.get(url, {"stage": "nirvana"}, headers=HTMX)
    assert response.status_code == 422 and "Unknown stage" in response.content.decode()
    response = client.get(url, {"cursor": "garbage"}, headers=HTMX)
    assert response.status_code == 422 and "cursor" in response.content.decode()


def test_timeline_of_an_unknown_customer_is_404(agent_user):
    response = client_for(agent_user).get(reverse("journeys:customer_timeline", args=[424242]), headers=HTMX)
    assert response.status_code == 404


def test_timeline_without_javascript_is_a_whole_page(analyst_user, customer):
    record(customer, "ticket.created", minutes_ago=1)
    html = client_for(analyst_user).get(reverse("journeys:customer_timeline", args=[customer.pk])).content.decode()
    assert "<html" in html and "Timeline of Ada Lovelace" in html and "ticket.created" in html


def test_anonymous_cannot_read_the_timeline(customer):
    response = Client().get(reverse("journeys:customer_timeline", args=[customer.pk]), headers=HTMX)
    assert response.status_code == 302


def touchpoint_form(**overrides) -> dict:
    data = {"touchpoint-kind": "call.completed", "touchpoint-channel": "phone", "touchpoint-stage": "support",
            "touchpoint-occurred_at": "", "touchpoint-properties": '{"duration_s": 240}'}
    data.update({f"touchpoint-{k}": v for k, v in overrides.items()})
    return data


def test_agent_adds_a_touchpoint_from_the_customer_page(agent_user, customer):
    client = client_for(agent_user)
    url = reverse("journeys:touchpoint_add", args=[customer.pk])
    form = client.get(url, headers=HTMX).content.decode()
    assert 'name="touchpoint-kind"' in form and 'type="datetime-local"' in form

    response = client.post(url, touchpoint_form(), headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "cx:timeline-changed"
    assert "Recorded call.completed" in response.content.decode()
    touchpoint = Touchpoint.objects.get(customer=customer)
    assert (touchpoint.kind, touchpoint.channel, touchpoint.stage, touchpoint.properties) == (
        "call.completed", "phone", "support", {"duration_s": 240})


def test_touchpoint_time_is_read_in_the_agents_time_zone(make_user, customer):
    agent = make_user("agent", "berlin")
    agent.time_zone = "Europe/Berlin"
    agent.save(update_fields=["time_zone"])

    response = client_for(agent).post(reverse("journeys:touchpoint_add", args=[customer.pk]),
                                      touchpoint_form(occurred_at="2024-01-15T10:30"))

    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    occurred = Touchpoint.objects.get(customer=customer).occurred_at
    assert occurred.astimezone(UTC).strftime("%Y-%m-%d %H:%M") == "2024-01-15 09:30"


def test_invalid_touchpoint_input_is_422_on_the_field_and_records_nothing(agent_user, customer):
    client = client_for(agent_user)
    url = reverse("journeys:touchpoint_add", args=[customer.pk])

    cases = [
        (touchpoint_form(properties="[1, 2]"), "Must be a JSON object"),
        (touchpoint_form(properties="{oops"), "Not valid JSON"),
        (touchpoint_form(kind="Call Completed!"), "lower-case words"),
        (touchpoint_form(occurred_at=(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")),
         "must not be in the future"),
    ]
    for data, reason in cases:
        response = client.post(url, data, headers=HTMX)
        assert response.status_code == 422, reason
        assert reason in response.content.decode()
        assert "HX-Trigger" not in response
    assert not Touchpoint.objects.exists()


def test_analyst_cannot_add_touchpoints(analyst_user, customer):
    client = client_for(analyst_user)
    url = reverse("journeys:touchpoint_add", args=[customer.pk])
    assert client.get(url, headers=HTMX).status_code == 403
    assert client.post(url, touchpoint_form(), headers=HTMX).status_code == 403
    assert not Touchpoint.objects.exists()


def test_no_touchpoints_on_an_erased_customer(admin_user, customer):
    customer_erase(actor=admin_user, customer=customer)
    response = client_for(admin_user).post(reverse("journeys:touchpoint_add", args=[customer.pk]),
                                           touchpoint_form(), headers=HTMX)
    assert response.status_code == 409
    assert "was erased" in response.content.decode()
    assert not Touchpoint.objects.exists()


def test_timeline_summary_counts_touchpoints_per_stage(agent_user, customer):
    record(customer, "ticket.created", minutes_ago=3)
    record(customer, "ticket.solved", minutes_ago=2)
    record(customer, "order.completed", minutes_ago=1, stage="purchase")
    html = client_for(agent_user).get(reverse("journeys:customer_timeline_summary", args=[customer.pk])).content
    assert "3 touchpoints (1 purchase, 2 support)" in html.decode()


def test_touchpoints_are_read_only_in_the_django_admin(db, customer):
    root = user_create(actor=None, username="root", email="root@agents.example.test",
                       password="correct-horse-42", role="admin", is_superuser=True)
    touchpoint = record(customer, "ticket.created", minutes_ago=1)
    client = client_for(root)

    assert client.get(reverse("admin:journeys_touchpoint_changelist")).status_code == 200
    detail = client.get(reverse("admin:journeys_touchpoint_change", args=[touchpoint.pk]))
    assert detail.status_code == 200 and 'name="kind"' not in detail.content.decode()
    assert client.get(reverse("admin:journeys_touchpoint_add")).status_code == 403
    assert client.post(reverse("admin:journeys_touchpoint_delete", args=[touchpoint.pk]),
                       {"post": "yes"}).status_code == 403
    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()


def test_customer_360_timeline_filters_by_kind_and_channel(db, agent_user):
    from django.test import Client

    from cx.customers.services import customer_create
    from cx.journeys.services import touchpoint_record, touchpoints_record_bulk

    customer = customer_create(actor=None, display_name="Filter Person")
    touchpoint_record(customer=customer, kind="ticket.created", channel="email", stage="support", source="tickets")
    touchpoint_record(customer=customer, kind="chat.started", channel="chat", stage="support", source="chat")
    touchpoint_record(customer=customer, kind="survey_answered", channel="email", stage="loyalty", source="surveys",
                      properties={"score": 9})
    touchpoint_record(customer=customer, kind="order.completed", channel="web", stage="purchase", source="api")
    from django.utils import timezone

    touchpoints_record_bulk([{"customer_id": customer.pk, "kind": "feature_used", "channel": "app", "stage": "usage",
                              "occurred_at": timezone.now(), "properties": {}, "source": "tracking:1",
                              "external_id": "m-1"}])
    client = Client()
    client.force_login(agent_user)
    url = f"/journeys/customers/{customer.pk}/timeline/"

    def kinds(**params):
        html = client.get(url, params, headers={"HX-Request": "true"}).content.decode()
        return {k for k in ("ticket.created", "chat.started", "survey_answered", "order.completed", "feature_used")
                if f">{k}<" in html}

    assert kinds() == {"ticket.created", "chat.started", "survey_answered", "order.completed", "feature_used"}
    assert kinds(category="tracked") == {"feature_used"}
    assert kinds(category="tickets") == {"ticket.created"}
    assert kinds(category="chats") == {"chat.started"}
    assert kinds(category="surveys") == {"survey_answered"}
    assert kinds(category="orders") == {"order.completed"}
    assert kinds(channel="email") == {"ticket.created", "survey_answered"}
    assert kinds(category="surveys", stage="support") == set()
    bad = client.get(url, {"category": "nope"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
