"""The agent pages of the knowledge base and the composer tools, through the HTTP client."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cx.accounts.models import Role
from cx.customers.services import customer_create
from cx.kb import services
from cx.kb.models import Article, ArticleStatus
from cx.tickets.services import ticket_open_by_customer, ticket_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(editor):
    c = Client()
    c.force_login(editor)
    return c


def test_an_agent_writes_previews_publishes_edits_and_restores(agent_client, section):
    response = agent_client.post("/kb/articles/new/", {
        "title": "Pay by invoice", "section_id": section.pk, "locale": "en", "slug": "",
        "body_markdown": "Choose **invoice** at checkout.<script>x()</script>", "tags": "billing, invoice"})
    article = Article.objects.get()
    assert response.url == f"/kb/articles/{article.pk}/"
    assert "<script" not in article.body_html
    preview = agent_client.post("/kb/articles/preview/", {"body_markdown": "*hi*<iframe src=x></iframe>"})
    assert preview.content.decode().strip() == "<p><em>hi</em></p>"
    agent_client.post(f"/kb/articles/{article.pk}/status/", {"status": "published"})
    agent_client.post(f"/kb/articles/{article.pk}/", {
        "title": "Pay by invoice", "section_id": section.pk, "slug": article.slug, "body_markdown": "New text",
        "tags": "billing", "note": "simpler"})
    article.refresh_from_db()
    assert (article.status, article.version, article.body_markdown) == (ArticleStatus.PUBLISHED, 2, "New text")
    version_page = agent_client.get(f"/kb/articles/{article.pk}/versions/1/").content.decode()
    assert "kb-diff-del" in version_page and "Restore this version" in version_page
    agent_client.post(f"/kb/articles/{article.pk}/versions/1/restore/")
    article.refresh_from_db()
    assert article.version == 3 and article.body_markdown.startswith("Choose **invoice**")
    page = agent_client.get(f"/kb/articles/{article.pk}/").content.decode()
    assert "Version 3" in page and "Restored version 1" in page


def test_translations_attachments_and_lists(agent_client, make_article):
    article = make_article()
    response = agent_client.post(f"/kb/articles/{article.pk}/translations/", {"locale": "de", "title": "Passwort"})
    variant = Article.objects.get(locale="de")
    assert response.url == f"/kb/articles/{variant.pk}/" and variant.source_id == article.pk
    agent_client.post(f"/kb/articles/{article.pk}/attachments/",
                      {"file": SimpleUploadedFile("screen.png", b"\x89PNG", "image/png")})
    page = agent_client.get(f"/kb/articles/{article.pk}/").content.decode()
    assert "screen.png" in page and "![screen.png](/help/attachments/" in page and ">de<" in page
    listing = agent_client.get("/kb/", {"q": "passw"}).content.decode()
    assert "Reset your password" in listing and "Passwort" in listing
    assert agent_client.get("/kb/", {"q": "x" * 300}).status_code == 200


def test_the_composer_offers_article_links_and_turns_an_answer_into_a_draft(agent_client, editor, make_article):
    make_article()
    customer = customer_create(actor=None, display_name="Rita", identities=[{"kind": "email", "value": "r@x.test"}])
    ticket = ticket_open_by_customer(requester=customer, subject="Cannot log in", body="I forgot my password",
                                     channel="email").ticket
    ticket_reply(actor=editor, ticket=ticket, body="Use the reset link on the login page.")
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="kb-picker-q"' in page and f"/kb/from-ticket/{ticket.pk}/" in page
    results = agent_client.get("/kb/picker/", {"q": "reset"}).content.decode()
    assert 'data-insert-text="[Reset your password](http' in results
    assert "/help/en/billing/reset-your-password/" in results
    internal = make_article(title="Reset override", is_internal=True)
    assert internal.title not in agent_client.get("/kb/picker/", {"q": "reset"}).content.decode()

    response = agent_client.post(f"/kb/from-ticket/{ticket.pk}/", {"section_id": internal.section_id})
    draft = Article.objects.get(created_from_ticket_id=ticket.pk)
    assert response.url == f"/kb/articles/{draft.pk}/"
    assert draft.status == ArticleStatus.DRAFT and draft.title == "Cannot log in"
    assert "> I forgot my password" in draft.body_markdown and "Use the reset link" in draft.body_markdown


def test_a_ticket_without_an_answer_cannot_become_an_article(agent_client, section):
    customer = customer_create(actor=None, display_name="Rita", identities=[{"kind": "email", "value": "r@x.test"}])
    ticket = ticket_open_by_customer(requester=customer, subject="Help", body="?", channel="email").ticket
    response = agent_client.post(f"/kb/from-ticket/{ticket.pk}/", {"section_id": section.pk})
    assert response.status_code == 422 and not Article.objects.exists()
    assert agent_client.post("/kb/from-ticket/999999/", {"section_id": section.pk}).status_code == 404


def test_categories_sections_report_and_brand_pages(agent_client, make_user, make_article):
    agent_client.post("/kb/categories/", {"category-name": "Shipping", "category-slug": ""})
    assert agent_client.get("/kb/categories/").content.decode().count("Shipping") >= 1
    bad = agent_client.post("/kb/categories/", {"category-name": "Search", "category-slug": "search"})
    assert bad.status_code == 422 and "reserved" in bad.content.decode()
    make_article()
    assert agent_client.get("/kb/report/").status_code == 200
    assert agent_client.get("/kb/settings/").status_code == 404  # admins only
    admin = Client()
    admin.force_login(make_user(Role.ADMIN))
    response = admin.post("/kb/settings/", {"name": "Acme", "tagline": "", "primary_color": "#123456",
                                            "accent_color": "#654321", "default_locale": "en", "locales": "en,fr"})
    assert response.status_code == 302 and services.help_center_settings().locales == "en,fr"
    bad = admin.post("/kb/settings/", {"name": "Acme", "primary_color": "red", "accent_color": "#654321",
                                       "default_locale": "en", "locales": "en"})
    assert bad.status_code == 422


def test_anonymous_visitors_cannot_reach_agent_pages(client, make_article):
    article = make_article(is_internal=True)
    for url in ("/kb/", f"/kb/articles/{article.pk}/", "/kb/picker/?q=reset", "/kb/report/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url
