"""The public web form through the HTTP client: a visitor opens a ticket without an account, gets a
confirmation by email after commit; spam (honeypot), floods (rate limit) and bad input create nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cx.customers.models import Customer, CustomerIdentity
from cx.customers.services import customer_create, customer_erase
from cx.inbox import services as inbox_services
from cx.inbox.models import WebFormSubmission
from cx.inbox.tasks import send_web_form_confirmation
from cx.journeys.models import Touchpoint
from cx.tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db
URL = "/support/new/"


def _form(**overrides) -> dict:
    data = {"name": "Maya Visitor", "email": "Maya@Example.com", "subject": "Parcel never arrived",
            "message": "I ordered on Monday and nothing came.", "website": ""}
    data.update(overrides)
    return data


def _submit(client: Client, data: dict, ip: str = "203.0.113.7"):
    return client.post(URL, data, REMOTE_ADDR=ip)


def test_the_form_is_public_and_every_field_has_a_label(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("name", "email", "subject", "message", "attachment", "website"):
        assert f'for="id_{field}"' in html
    assert 'enctype="multipart/form-data"' in html


def test_a_visitor_opens_a_ticket_and_gets_a_confirmation(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, _form())

    assert response.status_code == 302 and response["Location"] == "/support/new/thanks/"
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.subject, ticket.status_category) == ("web", "Parcel never arrived", "new")
    assert ticket.messages.get().body_text == "I ordered on Monday and nothing came."
    customer = ticket.requester
    assert customer.display_name == "Maya Visitor"
    assert customer.identities.get().value == "maya@example.com"
    assert Touchpoint.objects.filter(customer=customer, kind="ticket.created", channel="web").exists()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["maya@example.com"]
    assert f"[#{ticket.pk}]" in mail.subject and "Parcel never arrived" in mail.subject
    assert f"#{ticket.pk}" in mail.body

    thanks = client.get(response["Location"]).content.decode()
    assert f"#{ticket.pk}" in thanks and "maya@example.com" in thanks
    assert f"#{ticket.pk}" not in client.get("/support/new/thanks/").content.decode()  # shown once


def test_a_known_email_address_reuses_the_customer(client):
    known = customer_create(actor=None, display_name="Maya Known",
                            identities=[{"kind": "email", "value": "maya@example.com"}])
    _submit(client, _form(email="  MAYA@example.com "))
    assert Ticket.objects.get().requester == known
    assert Customer.objects.count() == 1


def test_an_attachment_is_stored_on_the_first_message(client):
    upload = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf")
    response = _submit(client, _form(attachment=upload))
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.size) == ("receipt.pdf", 16)
    assert attachment.message.ticket == Ticket.objects.get()


def test_a_filled_honeypot_pretends_success_and_creates_nothing(client, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(client, _form(website="http://cheap-pills.example"))

    assert response.status_code == 302 and response["Location"] == "/support/new/thanks/"
    assert "Thank you" in client.get(response["Location"]).content.decode()
    assert not Ticket.objects.exists() and not Customer.objects.exists() and mailoutbox == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"email": ""}, "email"),
    ({"email": "maya@"}, "email"),
    ({"name": ""}, "name"),
    ({"subject": "   "}, "subject"),
    ({"message": ""}, "message"),
    ({"subject": "x" * 251}, "subject"),
    ({"message": "\x00"}, "message"),
])
def test_invalid_input_is_a_422_with_field_errors_and_creates_nothing(client, overrides, field):
    response = _submit(client, _form(**overrides))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not Ticket.objects.exists() and not Customer.objects.exists()


def test_files_over_10_mb_are_refused(client):
    upload = SimpleUploadedFile("huge.bin", b"0" * (10 * 1024 * 1024 + 1), content_type="application/octet-stream")
    response = _submit(client, _form(attachment=upload))
    assert response.status_code == 422
    assert "10 MB" in response.context["form"].errors["attachment"][0]
    assert not Ticket.objects.exists()


def test_only_one_file_is_accepted(client):
    files = [SimpleUploadedFile(f"f{n}.txt", b"hello", content_type="text/plain") for n in range(2)]
    response = _submit(client, _form(attachment=files))
    assert response.status_code == 422 and "one file" in response.context["form"].errors["attachment"][0]
    assert not Ticket.objects.exists()


def test_more_than_five_requests_an_hour_from_one_ip_are_refused(client, django_capture_on_commit_callbacks):
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):  # submissions count once they commit
            assert _submit(client, _form(email=f"visitor{n}@example.com")).status_code == 302
    response = _submit(client, _form(email="visitor9@example.com"))

    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= 3600
    assert Ticket.objects.count() == 5
    assert _submit(client, _form(email="visitor9@example.com"), ip="198.51.100.1").status_code == 302


def test_more_than_five_requests_an_hour_for_one_address_are_refused(client, django_capture_on_commit_callbacks):
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            assert _submit(client, _form(), ip=f"198.51.100.{n}").status_code == 302
    response = _submit(client, _form(email="MAYA@example.com"), ip="198.51.100.99")
    assert response.status_code == 429
    assert Ticket.objects.count() == 5


def test_honeypot_hits_use_up_the_ips_requests(client):
    for _ in range(5):
        _submit(client, _form(website="spam"))
    assert _submit(client, _form()).status_code == 429
    assert not Ticket.objects.exists()


def test_invalid_submissions_do_not_count_against_the_limit(client, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(inbox_services, "WEB_FORM_LIMIT", 1)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert _submit(client, _form(email="nope")).status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        assert _submit(client, _form()).status_code == 302
    assert _submit(client, _form(email="other@example.com")).status_code == 429


def test_the_confirmation_task_sends_once(client, mailoutbox):
    _submit(client, _form())  # the commit callback does not run here; the task is run by hand, twice
    submission = WebFormSubmission.objects.get()
    assert send_web_form_confirmation.call(submission_id=submission.pk) is True
    assert send_web_form_confirmation.call(submission_id=submission.pk) is False
    assert len(mailoutbox) == 1


def test_erasing_the_customer_removes_the_typed_address(client, admin_user):
    _submit(client, _form())
    customer = Ticket.objects.get().requester
    counts = customer_erase(actor=admin_user, customer=customer)
    assert counts["inbox"] == 1
    assert WebFormSubmission.objects.get().email == ""
    assert not CustomerIdentity.objects.exists()
