"""Full-text search over tickets, messages and customers, through the search page. The same tests run on
SQLite (FTS5 kept in sync by triggers) and PostgreSQL (query-time text search)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cx.accounts.services import team_add_member, team_create
from cx.core.errors import ValidationFailed
from cx.customers.services import customer_create, customer_erase
from cx.tickets.models import Ticket
from cx.tickets.search import search_terms, ticket_search
from cx.tickets.services import message_split, ticket_customer_reply, ticket_merge, ticket_open_by_customer


def _ids(actor, query: str, **filters) -> set[int]:
    return set(ticket_search(actor=actor, query=query, **filters).values_list("pk", flat=True))


@pytest.fixture
def bruno(db):
    return customer_create(actor=None, display_name="Bruno Quintero", first_name="Bruno",
                           identities=[{"kind": "email", "value": "bruno.q@example.org"},
                                       {"kind": "phone", "value": "+4930123456"}])


def _open(customer, subject: str, body: str, channel: str = "email") -> Ticket:
    return ticket_open_by_customer(requester=customer, subject=subject, body=body, channel=channel).ticket


def test_search_finds_words_in_subjects_and_messages_as_prefixes(agent_user, requester):
    refund = _open(requester, "Refund for order 1001", "Please send the money back.")
    parcel = _open(requester, "Where is my parcel?", "The courier says it was delivered to the neighbour.")
    ticket_customer_reply(ticket=parcel, customer=requester, body="Also the invoice shows VAT twice.", channel="email")

    assert _ids(agent_user, "refund") == {refund.pk}
    assert _ids(agent_user, "REFU") == {refund.pk}  # case-insensitive word prefix
    assert _ids(agent_user, "courier") == {parcel.pk}
    assert _ids(agent_user, "invoice vat") == {parcel.pk}  # a later message counts too
    assert _ids(agent_user, "refund courier") == set()  # every word must match somewhere in the ticket


def test_search_finds_tickets_by_customer_name_and_identities(agent_user, requester, bruno):
    mine = _open(bruno, "Login problem", "I cannot log in.")
    _open(requester, "Login problem", "I cannot log in either.")

    assert _ids(agent_user, "quintero") == {mine.pk}
    assert _ids(agent_user, "bruno.q@example") == {mine.pk}
    assert _ids(agent_user, "4930123456") == {mine.pk}
    assert _ids(agent_user, "bruno login") == {mine.pk}  # words may match in different places


def test_search_filters_by_status_channel_and_dates(agent_user, requester):
    by_mail = _open(requester, "Broken zipper", "The zipper broke.")
    by_chat = _open(requester, "Broken zipper again", "Another zipper broke.", channel="chat")
    Ticket.objects.filter(pk=by_mail.pk).update(created_at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()

    assert _ids(agent_user, "zipper") == {by_mail.pk, by_chat.pk}
    assert _ids(agent_user, "zipper", channel="chat") == {by_chat.pk}
    assert _ids(agent_user, "zipper", created_from=today - timedelta(days=1)) == {by_chat.pk}
    assert _ids(agent_user, "zipper", created_to=today - timedelta(days=5)) == {by_mail.pk}
    assert _ids(agent_user, "zipper", status_category="solved") == set()
    with pytest.raises(ValidationFailed) as error:
        ticket_search(actor=agent_user, query="zipper", created_from=today, created_to=today - timedelta(days=1))
    assert "created_to" in error.value.fields


def test_search_follows_merges_splits_and_forgets_erased_text(agent_user, requester, bruno):
    source = _open(requester, "Printer jammed", "The printer jams on page two.")
    target = _open(requester, "Office equipment", "Several things are broken.")
    ticket_merge(actor=agent_user, source=source, target=target)
    assert target.pk in _ids(agent_user, "jams")  # the moved message is found on the survivor

    original = _open(bruno, "Two questions", "First: my password.")
    second = ticket_customer_reply(ticket=original, customer=bruno, body="Second: the kangaroo logo.", channel="email")
    split = message_split(actor=agent_user, message=second)
    assert _ids(agent_user, "kangaroo") == {split.pk}

    customer_erase(actor=_admin(agent_user), customer=bruno)
    assert _ids(agent_user, "kangaroo") == set()
    assert _ids(agent_user, "password") == set()


def _admin(agent_user):
    from cx.accounts.models import Role
    from cx.accounts.services import user_create

    return user_create(actor=None, username="erasing-admin", email="erase@agents.example.test",
                       password="correct-horse-42", role=Role.ADMIN)


def test_search_never_shows_restricted_team_tickets_to_outsiders(agent_user, make_user, requester):
    secret = _open(requester, "Harassment report", "Confidential matter about my manager.")
    hr = team_create(actor=None, name="HR", is_restricted=True)
    insider = make_user()
    team_add_member(actor=None, team=hr, user=insider)
    Ticket.objects.filter(pk=secret.pk).update(team=hr)

    assert _ids(agent_user, "confidential") == set()
    assert _ids(insider, "confidential") == {secret.pk}


def test_query_words_are_plain_text_never_query_syntax(agent_user, requester):
    ticket = _open(requester, "Quote \"problem\" with NEAR and OR", "Body with * and : and ( ) characters.")
    assert search_terms('"problem" OR near*') == ["problem", "or", "near"]
    assert _ids(agent_user, '"problem" (near') == {ticket.pk}
    assert _ids(agent_user, "characters:*") == {ticket.pk}
    with pytest.raises(ValidationFailed):
        ticket_search(actor=agent_user, query="*** ::: ")


def test_search_page_shows_results_and_explains_bad_filters(agent_user, requester):
    ticket = _open(requester, "Cracked screen", "My phone screen cracked.")
    client = Client()
    client.force_login(agent_user)

    response = client.get("/tickets/search/", {"q": "cracked"})
    assert response.status_code == 200
    assert f'id="ticket-row-{ticket.pk}"' in response.content.decode()

    response = client.get("/tickets/search/", {"q": "cracked", "channel": "pigeon"})
    assert response.status_code == 422
    assert "channel" in response.content.decode()

    response = client.get("/tickets/search/", {"q": "!!!"})
    assert response.status_code == 422
    assert "Type a word to search for." in response.content.decode()
