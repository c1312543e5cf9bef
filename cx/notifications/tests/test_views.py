"""The notifications pages: inbox, mark read (htmx and plain), mark all, badge, preferences."""

from __future__ import annotations

from django.test import Client

from cx.notifications.models import Notification, NotificationKind, NotificationPreference
from cx.notifications.services import notify_agent


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_lists_own_notifications_with_unread_marked(agent_user, bea):
    notify_agent(recipient=agent_user, kind=NotificationKind.MENTIONED, title="Bea mentioned you on #4",
                 body="@alex look")
    notify_agent(recipient=bea, kind=NotificationKind.MENTIONED, title="Secret for Bea")

    response = _client_for(agent_user).get("/notifications/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Bea mentioned you on #4" in html and "Secret for Bea" not in html
    assert "Mark read" in html and "Unread (1)" in html


def test_mark_read_with_htmx_returns_the_row(agent_user):
    notification = notify_agent(recipient=agent_user, kind=NotificationKind.MENTIONED, title="Look at #4")
    response = _client_for(agent_user).post(f"/notifications/{notification.pk}/read/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'id="notification-{notification.pk}"' in response.content.decode()
    assert "Mark read" not in response.content.decode()
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_open_marks_read_and_follows_the_link(agent_user):
    notification = notify_agent(recipient=agent_user, kind=NotificationKind.AUTOMATION, title="See customer",
                                url="/customers/")
    response = _client_for(agent_user).post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_open_never_redirects_off_site(agent_user):
    notification = notify_agent(recipient=agent_user, kind=NotificationKind.AUTOMATION, title="Elsewhere",
                                url="https://evil.example/")
    response = _client_for(agent_user).post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert response["Location"] == "/notifications/"


def test_someone_elses_notification_is_a_404_page(agent_user, bea):
    notification = notify_agent(recipient=bea, kind=NotificationKind.MENTIONED, title="For Bea")
    response = _client_for(agent_user).post(f"/notifications/{notification.pk}/read/")
    assert response.status_code == 404
    assert Notification.objects.get(pk=notification.pk).read_at is None


def test_mark_all_read_and_the_badge(agent_user):
    client = _client_for(agent_user)
    for n in range(3):
        notify_agent(recipient=agent_user, kind=NotificationKind.AUTOMATION, title=f"Rule {n}")
    badge = client.get("/notifications/badge/").content.decode()
    assert ">3<" in badge and "unread" in badge

    response = client.post("/notifications/read-all/", follow=True)

    assert "Marked 3 notifications read." in response.content.decode()
    assert "notification-count" not in client.get("/notifications/badge/").content.decode()


def test_preferences_form_saves_choices(agent_user):
    client = _client_for(agent_user)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'for="id_customer_replied-email"' in page  # every checkbox has a label

    data = {f"{kind}-in_app": "on" for kind in NotificationKind.values}
    data["customer_replied-email"] = "on"
    response = client.post("/notifications/preferences/", data, follow=True)

    assert "Your notification preferences are saved." in response.content.decode()
    chosen = {p.kind: (p.in_app, p.email) for p in NotificationPreference.objects.filter(user=agent_user)}
    assert chosen["customer_replied"] == (True, True)
    assert chosen["ticket_assigned"] == (True, False)


def test_pages_need_a_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
