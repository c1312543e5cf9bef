"""The public help center through the HTTP client: clean URLs, sitemap, search with suggestions, feedback;
counters for anonymous visitors, touchpoints for known (portal) customers; internal articles never shown."""

from __future__ import annotations

import pytest
from django.test import Client

from cx.customers.services import customer_create
from cx.journeys.models import Touchpoint
from cx.kb import services
from cx.kb.models import Article, ArticleFeedback, SearchLog
from cx.kb.selectors import PORTAL_SESSION_KEY

pytestmark = pytest.mark.django_db


def _url(article: Article) -> str:
    return f"/help/{article.locale}/{article.section.category.slug}/{article.slug}/"


def test_home_category_and_article_pages_use_clean_urls(client, make_article):
    article = make_article()
    assert client.get("/help/").url == "/help/en/"
    home = client.get("/help/en/")
    assert home.status_code == 200 and _url(article) in home.content.decode()
    assert client.get("/help/en/billing/").status_code == 200
    page = client.get(_url(article))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<strong>Settings</strong>" in body and "Was this article helpful?" in body
    assert client.get("/help/fr/").status_code == 404  # not an offered locale
    assert client.get("/help/en/billing/no-such-article/").status_code == 404


def test_internal_draft_and_archived_articles_are_404_and_absent_from_sitemap_and_search(client, make_article):
    public = make_article(title="Delivery times", body="Parcels arrive in two days")
    hidden = [make_article(title="Delivery escalation", body="Parcels internal notes", is_internal=True),
              make_article(title="Delivery draft", body="Parcels draft", status="draft"),
              make_article(title="Delivery archive", body="Parcels old", status="archived")]
    for article in hidden:
        assert client.get(_url(article)).status_code == 404
    sitemap = client.get("/sitemap.xml")
    assert sitemap["Content-Type"].startswith("application/xml")
    text = sitemap.content.decode()
    assert _url(public) in text and all(a.slug not in text for a in hidden)
    results = client.get("/help/en/search/", {"q": "parcels"}).content.decode()
    assert "Delivery times" in results and not any(a.title in results for a in hidden)
    suggestions = client.get("/help/en/suggest/", {"q": "deliv"}).content.decode()
    assert "Delivery times" in suggestions and not any(a.title in suggestions for a in hidden)


def test_anonymous_views_searches_and_feedback_move_counters_without_touchpoints(client, make_article):
    article = make_article()
    client.get(_url(article))
    client.get(_url(article))
    client.get("/help/en/search/", {"q": "password"})
    client.get("/help/en/search/", {"q": "zebra"})
    response = client.post(_url(article) + "feedback/", {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Thanks for your feedback" in response.content.decode()
    client.post(_url(article) + "feedback/comment/", {"comment": "Clear, thanks"}, HTTP_HX_REQUEST="true")
    article.refresh_from_db()
    assert (article.view_count, article.helpful_count, article.unhelpful_count) == (2, 1, 0)
    assert list(SearchLog.objects.order_by("id").values_list("query", "result_count")) == [("password", 1),
                                                                                          ("zebra", 0)]
    assert ArticleFeedback.objects.get().comment == "Clear, thanks"
    assert not Touchpoint.objects.exists()


def test_a_known_portal_customer_gets_self_service_touchpoints(client, make_article):
    customer = customer_create(actor=None, display_name="Kim", identities=[{"kind": "email", "value": "kim@x.test"}])
    session = client.session
    session[PORTAL_SESSION_KEY] = customer.pk
    session.save()
    article = make_article()
    client.get(_url(article))
    client.get("/help/en/search/", {"q": "password"})
    client.get("/help/en/search/", {"q": "zebra"})
    client.post(_url(article) + "feedback/", {"helpful": "no"})
    rows = list(Touchpoint.objects.filter(customer=customer).order_by("id").values_list("kind", "channel", "stage"))
    assert rows == [("kb.article_viewed", "self-service", "usage"), ("kb.searched", "self-service", "support"),
                    ("kb.searched_no_results", "self-service", "support"),
                    ("kb.article_rated", "self-service", "support")]


def test_bad_search_and_feedback_input_get_clear_messages(client, make_article):
    article = make_article()
    too_long = client.get("/help/en/search/", {"q": "x" * 201})
    assert too_long.status_code == 422 and "too long" in too_long.content.decode()
    empty = client.get("/help/en/search/", {"q": "?!"})
    assert empty.status_code == 422 and "Type a word" in empty.content.decode()
    assert client.post(_url(article) + "feedback/", {"helpful": "maybe"}).status_code == 422
    long_comment = client.post(_url(article) + "feedback/", {"helpful": "yes", "comment": "x" * 2001})
    assert long_comment.status_code == 422
    assert client.post(_url(article) + "feedback/comment/", {"comment": "no vote first"}).status_code == 422
    assert not ArticleFeedback.objects.exists() and not SearchLog.objects.exists()


def test_branding_comes_from_the_settings(client, admin_user, make_article):
    make_article()
    services.help_center_settings_update(actor=admin_user, values={"name": "Acme Help", "primary_color": "#aa0000",
                                                                   "locales": "en,de"})
    page = client.get("/help/en/").content.decode()
    assert "Acme Help" in page and "--hc-primary: #aa0000" in page and 'href="/help/de/"' in page
    assert client.get("/help/de/").status_code == 200


def test_attachments_of_public_articles_are_public_and_of_internal_ones_are_not(client, editor, make_article):
    from django.core.files.uploadedfile import SimpleUploadedFile

    public = make_article()
    internal = make_article(title="Secret", is_internal=True)
    a = services.article_attachment_add(actor=editor, article=public,
                                        upload=SimpleUploadedFile("shot.png", b"\x89PNG....", "image/png"))
    b = services.article_attachment_add(actor=editor, article=internal,
                                        upload=SimpleUploadedFile("notes.txt", b"secret", "text/plain"))
    assert client.get(f"/help/attachments/{a.pk}/shot.png").status_code == 200
    assert client.get(f"/help/attachments/{b.pk}/notes.txt").status_code == 404
    agent = Client()
    agent.force_login(editor)
    assert agent.get(f"/help/attachments/{b.pk}/notes.txt").status_code == 200


def test_help_center_article_page_query_count_is_small(client, make_article, django_assert_max_num_queries):
    article = make_article(tags=["a", "b"])
    client.get(_url(article))  # creates the settings row once
    with django_assert_max_num_queries(12):
        assert client.get(_url(article)).status_code == 200


def test_pages_carry_the_brand_name_as_title_and_the_locale_as_language(client, admin_user, make_article):
    article = make_article()
    services.help_center_settings_update(actor=admin_user, values={"name": "Acme Help"})
    page = client.get(_url(article)).content.decode()
    assert "<title>Reset your password · Acme Help</title>" in page and '<html lang="en">' in page
    assert "cxdesk</title>" not in page
