"""The SMTP listener end to end, and an agent's reply out through a real SMTP server and back in."""

from __future__ import annotations

import smtplib
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from cx.mail.models import InboundEmail, InboundStatus, Mailbox, OutboundEmail
from cx.mail.smtp import make_controller
from cx.tickets.models import Message, Ticket
from cx.tickets.services import ticket_reply
from tests.support import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener(transactional_db):
    from cx.tickets.services import ticket_statuses_ensure_defaults

    ticket_statuses_ensure_defaults()  # a transactional test starts from an emptied database
    Mailbox.objects.create(address="support@acme.test", brand_name="Acme Support", max_message_bytes=64 * 1024,
                           signature="Acme Support team")
    controller = make_controller(host="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def sink(settings):
    handler = _Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield handler
    controller.stop()


def _send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(message)


def _mail(subject="Order 1234 never arrived", body="Where is my parcel?", to="support@acme.test") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Carla Customer <carla@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<first-1234@example.org>"
    message.set_content(body)
    return message


def test_mail_sent_with_smtplib_becomes_a_ticket(listener):
    _send(listener.port, _mail())
    ticket = Ticket.objects.get()
    assert ticket.channel == "email" and ticket.subject == "Order 1234 never arrived"
    assert InboundEmail.objects.get().source == "smtp"


def test_unknown_recipients_are_refused_at_rcpt_with_550(listener):
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        client.ehlo()
        client.mail("carla@example.org")
        code, reply = client.rcpt("nobody@acme.test")
        assert code == 550 and b"no such mailbox" in reply
        code, _ = client.rcpt("support@acme.test")
        assert code == 250
    assert Ticket.objects.count() == 0


def test_oversize_mail_is_refused_with_552_and_the_listener_keeps_working(listener):
    big = _mail(body="x" * (100 * 1024))
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        _send(listener.port, big)
    assert refused.value.smtp_code == 552
    _send(listener.port, _mail(subject="small one"))
    assert Ticket.objects.get().subject == "small one"


def test_malformed_mail_is_quarantined_not_crashing_the_listener(listener):
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=30) as client:
        client.sendmail("x@example.org", ["support@acme.test"],
                        b"Subject: =?bogus?Q?=ZZ?=\r\nContent-Type: multipart/mixed; boundary=nope\r\n\r\n--x\r\n")
    row = InboundEmail.objects.get()
    assert row.status == InboundStatus.QUARANTINED and "malformed" in row.reason
    _send(listener.port, _mail())
    assert Ticket.objects.count() == 1


def test_an_agent_reply_threads_out_and_the_customers_answer_comes_back_into_the_same_ticket(listener, sink,
                                                                                              make_user, client):
    _send(listener.port, _mail())
    ticket = Ticket.objects.get()
    agent = make_user("agent", "alex")
    from django.core.files.uploadedfile import SimpleUploadedFile

    label = SimpleUploadedFile("label.pdf", b"%PDF-1.4 shipping label", content_type="application/pdf")
    reply = ticket_reply(actor=agent, ticket=ticket, body="It left our warehouse today.", attachments=[label])
    deadline = time.monotonic() + 10
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    rcpts, raw = sink.messages[0]
    assert rcpts == ["carla@example.org"]
    sent = message_from_bytes(raw, policy=policy.default)
    outbound = OutboundEmail.objects.get()
    assert sent["Message-ID"] == f"<{outbound.message_id}>"
    assert sent["In-Reply-To"] == "<first-1234@example.org>"
    assert "<first-1234@example.org>" in sent["References"]
    assert f"[#{ticket.pk}]" in sent["Subject"]
    assert sent["From"].addresses[0].addr_spec == "support@acme.test"
    assert sent.get_body(("plain",)).get_content().startswith("It left our warehouse today.")
    assert "Acme Support team" in sent.get_body(("plain",)).get_content()
    assert sent.get_body(("html",)) is not None
    attached = [(a.get_filename(), a.get_content()) for a in sent.iter_attachments()]
    assert attached == [("label.pdf", b"%PDF-1.4 shipping label")]
    assert Message.objects.get(pk=reply.pk).delivery_status == "sent"
    client.force_login(agent)
    assert 'delivery-sent" data-delivery="sent">Sent<' in client.get(f"/tickets/{ticket.pk}/").content.decode()
    from cx.journeys.models import Touchpoint

    assert Touchpoint.objects.filter(kind="email.sent", channel="email", customer=ticket.requester).exists()

    # The customer answers from a real mail client library, using only the headers it received.
    answer = EmailMessage()
    answer["From"] = "carla@example.org"
    answer["To"] = sent["Reply-To"] or sent["From"]
    answer["Subject"] = "Re: " + sent["Subject"].replace(f" [#{ticket.pk}]", "")  # clients may drop the token
    answer["Message-ID"] = "<answer-1@example.org>"
    answer["In-Reply-To"] = sent["Message-ID"]
    answer["References"] = f"{sent['References']} {sent['Message-ID']}"
    answer.set_content("Great, thanks!\n\nOn Mon, Acme Support <support@acme.test> wrote:\n> It left our warehouse")
    _send(listener.port, answer)
    assert Ticket.objects.count() == 1
    last = ticket.messages.order_by("-id").first()
    assert last.author_type == "customer" and last.body_text == "Great, thanks!"


def test_a_temporary_smtp_failure_is_retried_then_sent(listener, settings, make_user):
    from django.utils import timezone

    from cx.mail.outbound import outbound_retries_enqueue_due

    _send(listener.port, _mail())
    ticket = Ticket.objects.get()

    class _Flaky:
        calls = 0

        async def handle_DATA(self, server, session, envelope):
            _Flaky.calls += 1
            return "451 4.3.0 try again later" if _Flaky.calls == 1 else "250 OK"

    controller = Controller(_Flaky(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        reply = ticket_reply(actor=make_user("agent", "alex"), ticket=ticket, body="On its way")
        outbound = OutboundEmail.objects.get()
        assert outbound.status == "retrying" and "451" in outbound.last_error
        assert Message.objects.get(pk=reply.pk).delivery_status == "queued"
        OutboundEmail.objects.filter(pk=outbound.pk).update(next_attempt_at=timezone.now())
        assert outbound_retries_enqueue_due(timezone.now()) == 1
        outbound.refresh_from_db()
        assert outbound.status == "sent" and outbound.attempts == 2
        assert Message.objects.get(pk=reply.pk).delivery_status == "sent"
    finally:
        controller.stop()


def test_a_permanent_failure_marks_the_message_not_delivered(listener, settings, make_user, client):
    _send(listener.port, _mail())
    ticket = Ticket.objects.get()

    class _Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 user unknown"

    controller = Controller(_Refuse(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        reply = ticket_reply(actor=make_user("agent", "alex"), ticket=ticket, body="Hello?")
    finally:
        controller.stop()
    message = Message.objects.get(pk=reply.pk)
    assert message.delivery_status == "failed" and "550" in message.delivery_error
    client.force_login(message.author_agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Not delivered" in page and "user unknown" in page
