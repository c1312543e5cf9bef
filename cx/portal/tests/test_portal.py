"""The customer portal through the HTTP client: magic-link sign-in (single use, expiring, hashed, rate
limited, no account enumeration), access limits, replies and new requests on the portal channel, and
suggested articles counted as deflections."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cx.accounts.models import Role
from cx.customers.services import customer_create, organization_create
from cx.kb import services as kb_services
from cx.kb.models import DeflectionOutcome, SuggestionOpen
from cx.kb.selectors import kb_report
from cx.portal.models import MagicLink, OrganizationPortalAccess
from cx.tickets.models import Message, Ticket
from cx.tickets.services import ticket_open_by_customer, ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db):
    return organization_create(actor=None, name="Acme")


@pytest.fixture
def carla(org):
    return customer_create(actor=None, display_name="Carla", organization_id=org.pk,
                           identities=[{"kind": "email", "value": "carla@acme.test"}])


@pytest.fixture
def dan(org):
    return customer_create(actor=None, display_name="Dan", organization_id=org.pk,
                           identities=[{"kind": "email", "value": "dan@acme.test"}])


def _link_from(mail) -> str:
    return re.search(r"http://\S+/portal/login/(\w+)/", mail.body).group(1)


def _sign_in(client: Client, email: str, mailoutbox, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/login/", {"email": email})
    assert response.status_code == 200
    token = _link_from(mailoutbox[-1])
    assert client.get(f"/portal/login/{token}/").status_code == 200  # a confirm button, not yet used
    assert client.post(f"/portal/login/{token}/").status_code == 302
    return token


def test_a_customer_signs_in_by_magic_link_once(client, carla, mailoutbox, django_capture_on_commit_callbacks):
    token = _sign_in(client, "Carla@Acme.test", mailoutbox, django_capture_on_commit_callbacks)
    assert mailoutbox[-1].to == ["carla@acme.test"]
    link = MagicLink.objects.get()
    assert token not in (link.token_hash, link.salt) and link.used_at is not None  # only a hash is stored
    assert client.get("/portal/").status_code == 200
    again = Client()
    assert again.post(f"/portal/login/{token}/").status_code == 404  # single use
    assert "already used" in again.get(f"/portal/login/{token}/").content.decode()
    assert "/portal/login/" in again.get("/portal/").url


def test_an_expired_link_is_refused(client, carla, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/login/", {"email": "carla@acme.test"})
    token = _link_from(mailoutbox[-1])
    MagicLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(f"/portal/login/{token}/")
    assert response.status_code == 404 and "expired" in response.content.decode()
    assert client.get("/portal/").status_code == 302
    assert client.post("/portal/login/not-a-token/").status_code == 404


def test_unknown_addresses_get_the_same_answer_and_no_mail(client, carla, mailoutbox,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/portal/login/", {"email": "carla@acme.test"})
        unknown = client.post("/portal/login/", {"email": "nobody@acme.test"})
    def page(response) -> str:
        text = response.content.decode().replace("carla@acme.test", "X").replace("nobody@acme.test", "X")
        return re.sub(r'"X-CSRFToken": "\w+"', "", text)

    assert known.status_code == unknown.status_code == 200
    assert page(known) == page(unknown)
    assert len(mailoutbox) == 1
    assert client.post("/portal/login/", {"email": "not an email"}).status_code == 422


def test_sign_in_requests_are_rate_limited(client, carla, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        codes = [client.post("/portal/login/", {"email": "carla@acme.test"}).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429, 429]
    assert len(mailoutbox) == 5


def test_customers_see_only_their_own_tickets_unless_the_organisation_shares(
        client, carla, dan, org, mailoutbox, django_capture_on_commit_callbacks, make_user):
    mine = ticket_open_by_customer(requester=carla, subject="My invoice", body="Where is it?", channel="email").ticket
    theirs = ticket_open_by_customer(requester=dan, subject="Dan's secret", body="hmm", channel="email").ticket
    agent = make_user(Role.AGENT)
    ticket_reply(actor=agent, ticket=mine, body="Internal: check billing", visibility="internal")
    ticket_reply(actor=agent, ticket=mine, body="Here it is")
    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    home = client.get("/portal/").content.decode()
    assert "My invoice" in home and "Dan&#x27;s secret" not in home and "Dan's secret" not in home
    page = client.get(f"/portal/requests/{mine.pk}/").content.decode()
    assert "Here it is" in page and "Internal: check billing" not in page
    assert client.get(f"/portal/requests/{theirs.pk}/").status_code == 404
    assert client.post(f"/portal/requests/{theirs.pk}/reply/", {"body": "hi"}).status_code == 404
    assert client.get("/portal/requests/999999/").status_code == 404
    OrganizationPortalAccess.objects.create(organization=org, members_see_all_tickets=True)
    assert client.get(f"/portal/requests/{theirs.pk}/").status_code == 200


def test_a_customer_replies_and_opens_a_request_on_the_portal_channel(
        client, carla, mailoutbox, django_capture_on_commit_callbacks):
    mine = ticket_open_by_customer(requester=carla, subject="My invoice", body="Where is it?", channel="email").ticket
    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    assert client.post(f"/portal/requests/{mine.pk}/reply/", {"body": "Any news?"}).status_code == 302
    message = Message.objects.filter(ticket=mine).order_by("-id").first()
    assert (message.body_text, message.channel, message.author_customer_id) == ("Any news?", "portal", carla.pk)
    assert client.post(f"/portal/requests/{mine.pk}/reply/", {"body": ""}).status_code == 422
    response = client.post("/portal/requests/new/", {"subject": "Broken zip", "body": "The zipper broke"})
    created = Ticket.objects.get(subject="Broken zip")
    assert response.url == f"/portal/requests/{created.pk}/"
    assert (created.channel, created.requester_id) == ("portal", carla.pk)
    assert client.post("/portal/requests/new/", {"subject": "", "body": "x"}).status_code == 422


def test_opening_a_suggested_article_and_not_submitting_is_a_deflection(
        client, carla, mailoutbox, django_capture_on_commit_callbacks, make_user):
    editor = make_user(Role.AGENT)
    category = kb_services.category_create(actor=editor, name="Orders")
    section = kb_services.section_create(actor=editor, category_id=category.pk, name="Returns")
    article = kb_services.article_create(actor=editor, section_id=section.pk, title="Return a parcel",
                                         body_markdown="Print the label.", status="published")
    hidden = kb_services.article_create(actor=editor, section_id=section.pk, title="Return override",
                                        body_markdown="Internal parcel rules", status="published", is_internal=True)
    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    suggestions = client.get("/portal/requests/suggest/", {"subject": "return parcel"}).content.decode()
    assert "Return a parcel" in suggestions and "Return override" not in suggestions
    opened = client.get(f"/portal/articles/{article.pk}/", {"q": "return parcel"})
    assert opened.url == "/help/en/orders/return-a-parcel/"
    assert client.get(f"/portal/articles/{hidden.pk}/").status_code == 404
    first = SuggestionOpen.objects.get()
    # Later the customer opens another and submits anyway: that one is not a deflection.
    SuggestionOpen.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=2))
    client.get(f"/portal/articles/{article.pk}/")
    client.post("/portal/requests/new/", {"subject": "Return parcel", "body": "Label does not print"})
    outcomes = dict(SuggestionOpen.objects.values_list("pk", "outcome"))
    assert outcomes[first.pk] == DeflectionOutcome.PENDING
    assert sorted(outcomes.values()) == [DeflectionOutcome.PENDING, DeflectionOutcome.SUBMITTED]
    report = kb_report(actor=editor)
    assert (report["deflections"], report["submitted_anyway"]) == (1, 1)
    agent = Client()
    agent.force_login(editor)
    page = agent.get("/kb/report/").content.decode()
    assert 'id="kb-deflections">1<' in page and "Return a parcel" in page


def test_signed_in_customers_get_touchpoints_in_the_help_center(
        client, carla, mailoutbox, django_capture_on_commit_callbacks, make_user):
    from cx.journeys.models import Touchpoint

    editor = make_user(Role.AGENT)
    category = kb_services.category_create(actor=editor, name="Orders")
    section = kb_services.section_create(actor=editor, category_id=category.pk, name="Returns")
    kb_services.article_create(actor=editor, section_id=section.pk, title="Return a parcel",
                               body_markdown="Print the label.", status="published")
    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    client.get("/help/en/orders/return-a-parcel/")
    assert Touchpoint.objects.filter(customer=carla, kind="kb.article_viewed", channel="self-service").exists()


def test_sign_out_ends_the_portal_session(client, carla, mailoutbox, django_capture_on_commit_callbacks):
    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302


def test_customers_download_files_of_their_own_public_messages_only(
        client, carla, dan, mailoutbox, django_capture_on_commit_callbacks, make_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cx.tickets.models import Attachment

    agent = make_user(Role.AGENT)
    mine = ticket_open_by_customer(requester=carla, subject="Invoice", body="?", channel="email").ticket
    theirs = ticket_open_by_customer(requester=dan, subject="Other", body="?", channel="email",
                                     attachments=[SimpleUploadedFile("dan.pdf", b"%PDF dan", "application/pdf")]).ticket
    ticket_reply(actor=agent, ticket=mine, body="Attached",
                 attachments=[SimpleUploadedFile("invoice.pdf", b"%PDF", "application/pdf")])
    ticket_reply(actor=agent, ticket=mine, body="note", visibility="internal",
                 attachments=[SimpleUploadedFile("internal.pdf", b"%PDF x", "application/pdf")])
    _sign_in(client, "carla@acme.test", mailoutbox, django_capture_on_commit_callbacks)
    files = {a.filename: a.pk for a in Attachment.objects.all()}
    page = client.get(f"/portal/requests/{mine.pk}/").content.decode()
    assert f"/portal/files/{files['invoice.pdf']}/" in page and "internal.pdf" not in page
    assert client.get(f"/portal/files/{files['invoice.pdf']}/").status_code == 200
    assert client.get(f"/portal/files/{files['internal.pdf']}/").status_code == 404
    assert client.get(f"/portal/files/{files['dan.pdf']}/").status_code == 404
    assert theirs.pk != mine.pk
