"""Mailboxes, routing rules and the quarantine, through the admin pages and the API."""

from __future__ import annotations

import pytest

from cx.accounts.services import team_create
from cx.mail.models import InboundEmail, InboundStatus, Mailbox, RoutingRule
from cx.mail.services import inbound_email_receive
from cx.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_mailbox_with_a_rule_from_the_pages(client, admin_user):
    team = team_create(actor=None, name="Billing")
    client.force_login(admin_user)
    assert client.get("/mail/").status_code == 200
    page = client.get("/mail/mailboxes/new/")
    assert page.status_code == 200 and b'<label for="id_address">' in page.content
    response = client.post("/mail/mailboxes/new/", {
        "address": "Billing@Acme.test", "brand_name": "Acme Billing", "team_id": team.pk, "signature": "Acme",
        "is_active": "on", "max_message_bytes": 1048576, "max_attachment_bytes": 1048576, "max_attachments": 5,
        "sender_rate_limit": 10, "imap_port": 993, "imap_folder": "INBOX", "auto_ack_body": "Thanks {{ticket.id}}"})
    mailbox = Mailbox.objects.get()
    assert response.status_code == 302 and mailbox.address == "billing@acme.test" and mailbox.team == team
    assert mailbox.auto_ack_enabled is False  # off by default
    response = client.post(f"/mail/mailboxes/{mailbox.pk}/rules/", {"keywords": "refund, invoice", "priority": "high",
                                                                   "tags": "billing", "position": 0})
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.keywords == ["refund", "invoice"] and rule.tags == ["billing"]
    page = client.get(f"/mail/mailboxes/{mailbox.pk}/")
    assert b"refund, invoice" in page.content


def test_bad_mailbox_input_is_a_422_with_the_field_and_changes_nothing(client, admin_user, mailbox):
    client.force_login(admin_user)
    response = client.post("/mail/mailboxes/new/", {"address": "support@acme.test", "brand_name": "Dup",
                                                    "max_message_bytes": 5, "max_attachment_bytes": 1,
                                                    "max_attachments": 1, "sender_rate_limit": 1})
    assert response.status_code == 422
    assert b"another mailbox already uses this address" in response.content or b"from 1024" in response.content
    assert Mailbox.objects.count() == 1


def test_agents_cannot_manage_mailboxes(client, agent_user, mailbox):
    client.force_login(agent_user)
    assert client.get("/mail/").status_code == 403
    assert client.post(f"/mail/mailboxes/{mailbox.pk}/delete/").status_code == 403
    assert Mailbox.objects.exists()


def test_admins_see_quarantine_reasons_and_release_mail(client, admin_user, mailbox, build_mail):
    mailbox.max_attachments = 0
    mailbox.save()
    row = inbound_email_receive(raw=build_mail(attachments=[("a.txt", "text/plain", b"hi", None)]), source="smtp")
    assert row.status == InboundStatus.QUARANTINED
    client.force_login(admin_user)
    page = client.get("/mail/received/")
    assert b"too many attachments" in page.content
    response = client.post(f"/mail/received/{row.pk}/release/")
    assert response.status_code == 302
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.get(pk=row.pk).status == InboundStatus.RELEASED


def test_the_api_manages_mailboxes_and_never_returns_the_imap_password(api_client, admin_user, agent_user, token_for):
    api = api_client(token_for(admin_user, "admin"))
    created = api.post("/api/v1/mailboxes", {"address": "help@acme.test", "brand_name": "Acme",
                                             "imap_enabled": True, "imap_host": "imap.acme.test",
                                             "imap_username": "help", "imap_password": "hunter2-secret"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["imap_password_set"] is True and "hunter2" not in created.content.decode()
    bad = api.post("/api/v1/mailboxes", {"address": "not-an-address", "brand_name": ""})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"]["address"] == "not a valid email address"
    patched = api.patch(f"/api/v1/mailboxes/{body['id']}", {"auto_ack_enabled": True, "max_attachments": 99})
    assert patched.status_code == 422 and "max_attachments" in patched.json()["error"]["fields"]
    assert Mailbox.objects.get().auto_ack_enabled is False
    rule = api.post(f"/api/v1/mailboxes/{body['id']}/rules", {"sender_domain": "vip.test", "priority": "urgent"})
    assert rule.status_code == 201
    assert api.get("/api/v1/mailboxes").json()[0]["rules"][0]["sender_domain"] == "vip.test"
    agent = api_client(token_for(agent_user, "write"))
    assert agent.get("/api/v1/mailboxes").status_code == 403
    rule_id = rule.json()["id"]
    assert api.delete(f"/api/v1/mailboxes/{body['id']}/rules/{rule_id}").status_code == 204
    assert api.delete(f"/api/v1/mailboxes/{body['id']}/rules/{rule_id}").status_code == 404
    assert api.get("/api/v1/mail/received", status="bogus").status_code == 422
    assert api.delete(f"/api/v1/mailboxes/{body['id']}").status_code == 204
    assert not Mailbox.objects.exists()


def test_raw_mail_can_be_posted_to_the_api(api_client, admin_user, token_for, mailbox, build_mail):
    api = api_client(token_for(admin_user, "admin"))
    response = api.client.post("/api/v1/mail/inbound", data=build_mail(), content_type="message/rfc822",
                               headers=api.headers)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "accepted"
    listed = api.get("/api/v1/mail/received", status="accepted").json()
    assert listed[0]["subject"] == "Printer on fire"


def test_the_inline_image_view_serves_images_inline_and_anything_else_as_a_download(client, agent_user, mailbox,
                                                                                   build_mail):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    row = inbound_email_receive(raw=build_mail(html='<p><img src="cid:logo"></p>', attachments=[
        ("logo.png", "image/png", png, "logo"), ("page.html", "text/html", b"<script>x</script>", None)]),
        source="smtp")
    message = Ticket.objects.get(pk=row.ticket_id).messages.get()
    image, page = message.attachments.order_by("id")
    client.force_login(agent_user)
    shown = client.get(f"/mail/inline/{image.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert "attachment" not in shown.get("Content-Disposition", "")
    risky = client.get(f"/mail/inline/{page.pk}/")
    assert risky["Content-Type"] == "application/octet-stream" and "attachment" in risky["Content-Disposition"]
    client.logout()
    assert client.get(f"/mail/inline/{image.pk}/").status_code == 302  # to the login page


def test_admins_see_bouncing_addresses_and_can_clear_them(client, admin_user, mailbox):
    from cx.mail.models import BouncingAddress
    from cx.mail.tests.test_inbound import CORPUS

    inbound_email_receive(raw=(CORPUS / "flanker__bounce__gmail-no-dns.eml").read_bytes(), source="smtp",
                          recipients=["support@acme.test"])
    entry = BouncingAddress.objects.get()
    client.force_login(admin_user)
    page = client.get("/mail/")
    assert b"user@example.comm" in page.content
    assert client.post(f"/mail/bouncing/{entry.pk}/clear/").status_code == 302
    assert not BouncingAddress.objects.exists()
    assert client.post(f"/mail/bouncing/{entry.pk}/clear/").status_code == 404
