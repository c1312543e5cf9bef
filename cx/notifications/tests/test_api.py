"""The notifications API: your own inbox only, mark read, preferences, and the one error shape."""

from __future__ import annotations

from cx.notifications.models import Notification, NotificationKind, NotificationPreference
from cx.notifications.services import notify_agent


def _notify(user, title: str = "Ticket #1 is yours", kind: str = NotificationKind.TICKET_ASSIGNED):
    return notify_agent(recipient=user, kind=kind, title=title)


def test_agents_list_their_own_notifications_newest_first(api_client, token_for, agent_user, bea):
    first = _notify(agent_user, "first")
    second = _notify(agent_user, "second")
    _notify(bea, "not yours")
    client = api_client(token_for(agent_user, "read"))

    response = client.get("/api/v1/notifications")

    assert response.status_code == 200
    body = response.json()
    assert [n["id"] for n in body["results"]] == [second.pk, first.pk]
    assert body["unread_count"] == 2 and body["next"] is None
    assert body["results"][0]["kind"] == "ticket_assigned" and body["results"][0]["read_at"] is None


def test_the_list_pages_with_a_cursor_and_filters_unread(api_client, token_for, agent_user):
    made = [_notify(agent_user, f"n{i}") for i in range(5)]
    client = api_client(token_for(agent_user))
    client.post(f"/api/v1/notifications/{made[4].pk}/read")

    seen, cursor = [], None
    while True:
        params = {"limit": 2, "unread": "true", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/notifications", **params).json()
        seen += [n["id"] for n in body["results"]]
        cursor = body["next"]
        if not cursor:
            break
    assert seen == [n.pk for n in reversed(made[:4])]


def test_marking_read_counts_down_and_is_idempotent(api_client, token_for, agent_user):
    notification = _notify(agent_user)
    client = api_client(token_for(agent_user))

    first = client.post(f"/api/v1/notifications/{notification.pk}/read")
    again = client.post(f"/api/v1/notifications/{notification.pk}/read")

    assert first.status_code == 200 and first.json()["read_at"] is not None
    assert again.json()["read_at"] == first.json()["read_at"]
    assert client.get("/api/v1/notifications").json()["unread_count"] == 0


def test_nobody_can_read_or_mark_someone_elses_notification(api_client, token_for, agent_user, bea):
    notification = _notify(bea)
    response = api_client(token_for(agent_user)).post(f"/api/v1/notifications/{notification.pk}/read")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Notification.objects.get(pk=notification.pk).read_at is None


def test_a_read_only_token_cannot_mark_notifications_read(api_client, token_for, agent_user):
    notification = _notify(agent_user)
    client = api_client(token_for(agent_user, "read"))
    assert client.post(f"/api/v1/notifications/{notification.pk}/read").status_code == 403
    assert client.post("/api/v1/notifications/read-all").status_code == 403
    assert Notification.objects.get(pk=notification.pk).read_at is None


def test_analysts_manage_their_own_inbox(api_client, token_for, analyst_user):
    _notify(analyst_user, kind=NotificationKind.AUTOMATION)
    response = api_client(token_for(analyst_user, "read")).get("/api/v1/notifications")
    assert response.status_code == 200 and response.json()["unread_count"] == 1


def test_mark_all_read(api_client, token_for, agent_user, bea):
    for _ in range(3):
        _notify(agent_user)
    _notify(bea)
    response = api_client(token_for(agent_user)).post("/api/v1/notifications/read-all")
    assert response.json() == {"marked": 3}
    assert Notification.objects.filter(recipient=bea, read_at__isnull=True).count() == 1


def test_preferences_show_defaults_and_can_be_changed(api_client, token_for, agent_user):
    client = api_client(token_for(agent_user))
    defaults = {p["kind"]: (p["in_app"], p["email"]) for p in client.get("/api/v1/notifications/preferences").json()}
    assert defaults["ticket_assigned"] == (True, True)
    assert defaults["customer_replied"] == (True, False)

    response = client.put("/api/v1/notifications/preferences", {"preferences": [
        {"kind": "customer_replied", "in_app": True, "email": True},
        {"kind": "automation", "in_app": False, "email": False},
    ]})

    assert response.status_code == 200
    after = {p["kind"]: (p["in_app"], p["email"]) for p in response.json()}
    assert after["customer_replied"] == (True, True)
    assert after["automation"] == (False, False)
    assert after["ticket_assigned"] == (True, True)  # not listed: unchanged


def test_bad_preferences_get_a_422_and_change_nothing(api_client, token_for, agent_user):
    client = api_client(token_for(agent_user))
    cases = [
        {"preferences": [{"kind": "gossip", "in_app": True, "email": True}]},
        {"preferences": [{"kind": "automation", "in_app": "yes", "email": True}]},
        {"preferences": [{"kind": "automation", "in_app": True}]},
        {"preferences": [{"kind": "automation", "in_app": True, "email": True},
                         {"kind": "automation", "in_app": False, "email": True}]},
        {"preferences": [], "extra": 1},
    ]
    for payload in cases:
        response = client.put("/api/v1/notifications/preferences", payload)
        assert response.status_code == 422, payload
        assert response.json()["error"]["fields"], payload
    assert not NotificationPreference.objects.exists()


def test_anonymous_requests_get_401(api_client):
    assert api_client(None).get("/api/v1/notifications").status_code == 401
