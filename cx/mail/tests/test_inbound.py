"""The inbound pipeline every path shares: tickets, threading, idempotency, loops, bounces, quarantine."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from cx.customers.models import CustomerIdentity
from cx.journeys.models import Touchpoint
from cx.mail.models import BouncingAddress, EmailThreadId, InboundEmail, InboundStatus, RoutingRule
from cx.mail.services import inbound_email_receive
from cx.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).resolve().parents[3] / ".." / ".." / "shared" / "data" / "emails"
CORPUS = CORPUS if CORPUS.exists() else Path("/work/shared/data/emails")


def receive(raw: bytes, recipients=None):
    return inbound_email_receive(raw=raw, source="smtp", recipients=recipients)


def test_a_new_email_opens_a_ticket_for_a_new_customer_with_the_raw_message_kept(mailbox, build_mail):
    row = receive(build_mail())
    assert row.status == InboundStatus.ACCEPTED and row.reason == "new ticket"
    ticket = Ticket.objects.get(pk=row.ticket_id)
    assert ticket.channel == "email" and ticket.subject == "Printer on fire"
    assert CustomerIdentity.objects.get(kind="email", value="carla@example.org").customer_id == ticket.requester_id
    assert ticket.messages.get().body_text == "Hello, my printer is on fire."
    assert row.raw.read().startswith(b"From: Carla Customer")
    assert Touchpoint.objects.filter(customer=ticket.requester, channel="email").exists()


def test_redelivery_of_the_same_message_id_creates_nothing(mailbox, build_mail):
    raw = build_mail(message_id="<once@example.org>")
    first = receive(raw)
    again = receive(raw)
    assert again.pk == first.pk
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1 and InboundEmail.objects.count() == 1


def test_a_reply_threads_by_references_even_when_in_reply_to_is_unknown(mailbox, build_mail):
    first = receive(build_mail(message_id="<root@example.org>"))
    raw = build_mail(subject="Re: something else entirely", body="More details",
                     headers={"In-Reply-To": "<unknown@elsewhere>",
                              "References": "<root@example.org> <unknown@elsewhere>"})
    second = receive(raw)
    assert second.ticket_id == first.ticket_id and second.reason == "added to the ticket"
    assert Ticket.objects.count() == 1


def test_the_subject_token_threads_for_the_requester_only(mailbox, build_mail):
    first = receive(build_mail())
    token = f"Re: Printer on fire [#{first.ticket_id}]"
    same = receive(build_mail(subject=token, body="It is still burning"))
    assert same.ticket_id == first.ticket_id
    stranger = receive(build_mail(sender="mallory@evil.test", subject=token, body="let me in"))
    assert stranger.ticket_id != first.ticket_id


def test_reply_stripping_keeps_the_full_original_one_click_away(mailbox, build_mail, client, admin_user):
    first = receive(build_mail(message_id="<q1@example.org>"))
    body = ("Thanks, that fixed it!\n\nOn Mon, 5 Jan 2026 at 10:00, Acme Support <support@acme.test> wrote:\n"
            "> Try this\n> and that\n")
    row = receive(build_mail(body=body, headers={"In-Reply-To": "<q1@example.org>"}))
    message = Message.objects.get(pk=row.ticket_message_id)
    assert message.body_text == "Thanks, that fixed it!"
    assert "> Try this" in row.full_text and "> Try this" in row.quoted_text
    client.force_login(admin_user)
    page = client.get(f"/mail/messages/{message.pk}/original/")
    assert page.status_code == 200 and b"Try this" in page.content
    assert client.get(f"/mail/received/{row.pk}/raw/").status_code == 200
    assert first.ticket_id == row.ticket_id


def test_ccs_become_ccs_of_the_ticket(mailbox, build_mail):
    row = receive(build_mail(headers={"Cc": "Boss <boss@example.org>, support@acme.test"}))
    ticket = Ticket.objects.get(pk=row.ticket_id)
    assert CustomerIdentity.objects.filter(value="boss@example.org", customer__in=ticket.ccs.all()).exists()


def test_html_is_sanitised_and_inline_images_point_at_stored_attachments(mailbox, build_mail):
    html = ('<p>Look <img src="cid:pic1"> <img src="https://tracker.test/p.gif"></p>'
            '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">x</a>')
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 50
    row = receive(build_mail(html=html, attachments=[("pic.png", "image/png", png, "pic1")]))
    message = Message.objects.get(pk=row.ticket_message_id)
    attachment = message.attachments.get()
    assert f'src="/mail/inline/{attachment.pk}/"' in message.body_html
    for bad in ("<script", "onerror", "javascript:", "tracker.test"):
        assert bad not in message.body_html and bad not in row.full_html


def test_auto_replies_and_bulk_mail_get_no_acknowledgement(mailbox, build_mail):
    mailbox.auto_ack_enabled = True
    mailbox.save()
    receive(build_mail(headers={"Auto-Submitted": "auto-replied"}))
    receive(build_mail(sender="news@example.org", headers={"Precedence": "bulk"}))
    assert not Message.objects.filter(author_type="system").exists()
    receive(build_mail(sender="human@example.org"))
    ack = Message.objects.get(author_type="system")
    assert "#" in ack.body_text


def test_a_bounce_marks_the_address_as_bouncing_and_opens_no_ticket(mailbox):
    raw = (CORPUS / "flanker__bounce__gmail-no-dns.eml").read_bytes()
    row = receive(raw, recipients=["support@acme.test"])
    assert row.status == InboundStatus.BOUNCE
    assert BouncingAddress.objects.filter(address="user@example.comm").exists()
    assert Ticket.objects.count() == 0


def test_mail_from_our_own_mailbox_is_a_loop_and_ignored(mailbox, build_mail):
    row = receive(build_mail(sender="support@acme.test"))
    assert row.status == InboundStatus.IGNORED and Ticket.objects.count() == 0


def test_a_sender_over_the_rate_limit_is_quarantined(mailbox, build_mail):
    mailbox.sender_rate_limit = 3
    mailbox.save()
    rows = [receive(build_mail(subject=f"storm {i}")) for i in range(5)]
    assert [r.status for r in rows].count(InboundStatus.QUARANTINED) == 2
    assert "rate limit" in rows[-1].reason


def test_unknown_recipient_oversize_and_malformed_mail_are_quarantined_with_a_reason(mailbox, build_mail):
    unknown = receive(build_mail(to="nobody@acme.test"))
    assert unknown.status == InboundStatus.QUARANTINED and "unknown recipient" in unknown.reason
    mailbox.max_message_bytes = 2048
    mailbox.save()
    big = receive(build_mail(body="x" * 5000), recipients=["support@acme.test"])
    assert big.status == InboundStatus.QUARANTINED and "too large" in big.reason
    malformed = receive(b"To: support@acme.test\r\nSubject: who am I\r\n\r\nno sender at all\r\n")
    assert malformed.status == InboundStatus.QUARANTINED and "malformed" in malformed.reason
    assert Ticket.objects.count() == 0


def test_a_zip_bomb_is_quarantined_and_can_be_released_without_it(mailbox, build_mail, admin_user):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (210 * 1024 * 1024))
    row = receive(build_mail(attachments=[("invoice.zip", "application/zip", buffer.getvalue(), None)]))
    assert row.status == InboundStatus.QUARANTINED and "zip" in row.reason
    from cx.mail.services import inbound_email_release

    released = inbound_email_release(actor=admin_user, inbound=row)
    assert released.status == InboundStatus.ACCEPTED
    ticket = Ticket.objects.get(pk=released.ticket_id)
    assert not ticket.messages.filter(attachments__isnull=False).exists()
    assert ticket.messages.filter(visibility="internal", body_text__contains="invoice.zip").exists()


def test_routing_rules_set_team_priority_and_tags(mailbox, build_mail):
    from cx.accounts.services import team_create

    team = team_create(actor=None, name="VIP")
    RoutingRule.objects.create(mailbox=mailbox, sender_domain="bigcorp.com", team=team, priority="high",
                               tags=["vip"])
    row = receive(build_mail(sender="ceo@bigcorp.com"))
    ticket = Ticket.objects.get(pk=row.ticket_id)
    assert ticket.team_id == team.pk and ticket.priority == "high"
    assert list(ticket.tags.values_list("name", flat=True)) == ["vip"]


def test_every_corpus_file_is_received_without_crashing(mailbox):
    for path in sorted(CORPUS.glob("*.eml")):
        row = receive(path.read_bytes(), recipients=["support@acme.test"])
        assert row.status in InboundStatus.values, path.name
        if row.status == InboundStatus.QUARANTINED:
            assert row.reason, path.name
    assert EmailThreadId.objects.exists()


def test_a_mime_bomb_is_quarantined(mailbox):
    nested = b"From: a@b.test\r\nSubject: core\r\n\r\nhello\r\n"
    for level in range(3000):
        nested = b"From: a@b.test\r\nTo: support@acme.test\r\nSubject: level %d\r\n" \
                 b"Content-Type: message/rfc822\r\n\r\n" % level + nested
    row = receive(nested)
    assert row.status == InboundStatus.QUARANTINED and "nesting too deep" in row.reason
