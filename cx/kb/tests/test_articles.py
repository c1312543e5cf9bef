"""Articles through the services and selectors: versions with diff and restore, sanitising, locale variants,
internal articles kept off every public path, and full-text search staying in step with edits."""

from __future__ import annotations

import pytest

from cx.accounts.models import Role
from cx.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from cx.kb import selectors, services
from cx.kb.models import Article, ArticleStatus

pytestmark = pytest.mark.django_db


def test_every_content_change_is_a_version_and_restore_makes_a_new_one(editor, make_article):
    article = make_article(body="First text")
    services.article_update(actor=editor, article=article, values={"body_markdown": "Second text"}, note="typo")
    article = services.article_update(actor=editor, article=article, values={"title": "Reset a password"})
    assert article.version == 3
    assert [v.number for v in selectors.article_versions(article=article)] == [3, 2, 1]

    diff = selectors.version_diff(old=selectors.version_get(article=article, number=1),
                                  new_title=article.title, new_body=article.body_markdown)
    assert ("del", "First text") in [(line.kind, line.text) for line in diff]
    assert ("add", "Second text") in [(line.kind, line.text) for line in diff]

    restored = services.article_restore(actor=editor, article=article, number=1)
    assert restored.version == 4
    assert restored.title == "Reset your password"
    assert restored.body_markdown == "First text"
    assert "First text" in restored.body_html
    assert restored.versions.get(number=4).note == "Restored version 1"
    assert restored.versions.count() == 4  # history is kept, never rewritten


def test_restoring_the_current_content_or_an_unknown_version_is_refused(editor, make_article):
    article = make_article()
    with pytest.raises(Conflict):
        services.article_restore(actor=editor, article=article, number=1)
    with pytest.raises(NotFound):
        services.article_restore(actor=editor, article=article, number=9)


def test_changes_without_content_do_not_make_versions(editor, make_article):
    article = make_article()
    article = services.article_update(actor=editor, article=article, values={"tags": ["billing", "Password"]})
    assert article.version == 1
    assert sorted(t.name for t in article.tags.all()) == ["billing", "password"]


@pytest.mark.parametrize("payload", [
    "<script>alert('x')</script>Hello",
    "<iframe src='https://evil.example/'>frame text</iframe>Hello",
    "<img src=x onerror=alert(1)>Hello",
    "[click](javascript:alert(1)) Hello",
    "<a href='https://ok.example/' onclick='steal()'>ok</a> Hello",
    "<svg onload=alert(1)><script>x</script></svg>Hello",
    "<style>body{display:none}</style>Hello",
])
def test_markdown_is_rendered_and_unsafe_html_never_survives(editor, make_article, payload):
    article = make_article(body=payload)
    html = article.body_html.lower()
    for forbidden in ("<script", "<iframe", "onerror=", "onclick=", "onload=", 'href="javascript', "<style",
                      "<svg", "frame text", "display:none"):
        assert forbidden not in html
    assert "hello" in html


def test_markdown_features_render(make_article):
    article = make_article(body="# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```\n\n[docs](https://x.example/)")
    assert "<table>" in article.body_html and "<pre><code>" in article.body_html
    assert 'rel="noopener noreferrer"' in article.body_html


def test_internal_and_unpublished_articles_are_never_public(make_article):
    public = make_article(title="Refund policy public", body="refund within 30 days")
    internal = make_article(title="Refund override internal", body="refund escalation secret", is_internal=True)
    draft = make_article(title="Refund draft", body="refund draft text", status="draft")
    archived = make_article(title="Refund archived", body="refund old text", status="archived")

    hits = [h.article.pk for h in selectors.article_search(query="refund")]
    assert hits == [public.pk]
    agent_hits = {h.article.pk for h in selectors.article_search(query="refund", include_internal=True,
                                                                  include_unpublished=True)}
    assert agent_hits == {public.pk, internal.pk, draft.pk, archived.pk}
    for hidden in (internal, draft, archived):
        with pytest.raises(NotFound):
            selectors.public_article_get(locale="en", category_slug="billing", article_slug=hidden.slug)
        with pytest.raises(NotFound):
            selectors.public_article_by_id(article_id=hidden.pk)
    assert [a.pk for a in selectors.sitemap_articles()] == [public.pk]
    sections = selectors.public_categories(locale="en")[0].public_sections
    assert [a.pk for a in sections[0].public_articles] == [public.pk]


def test_search_follows_edits_and_ranks_titles_first(editor, make_article):
    first = make_article(title="Change your shipping address", body="Go to orders and edit the address.")
    second = make_article(title="Invoices", body="Every invoice lists the shipping address you used.")
    assert [h.article.pk for h in selectors.article_search(query="shipping")] == [first.pk, second.pk]
    services.article_update(actor=editor, article=second, values={"body_markdown": "Invoices are PDFs."})
    assert [h.article.pk for h in selectors.article_search(query="shipping")] == [first.pk]
    assert [h.article.pk for h in selectors.article_search(query="pdf")] == [second.pk]  # prefix match
    assert selectors.article_search(query="how do I change my address")[0].article.pk == first.pk
    assert selectors.article_search(query="  ?! ") == []
    with pytest.raises(ValidationFailed) as exc:
        selectors.article_search(query="x" * 201)
    assert "q" in exc.value.fields


def test_locale_variants_share_the_article_and_have_their_own_slugs(editor, make_article):
    original = make_article()
    variant = services.article_translation_create(actor=editor, article=original, locale="de",
                                                  title="Passwort zurücksetzen", body_markdown="Öffne Einstellungen")
    assert variant.source_id == original.pk and variant.status == ArticleStatus.DRAFT
    assert variant.slug == "passwort-zurucksetzen"
    assert {a.locale for a in selectors.article_variants(article=variant)} == {"en", "de"}
    with pytest.raises(Conflict):
        services.article_translation_create(actor=editor, article=variant, locale="de", title="Noch einmal")
    with pytest.raises(ValidationFailed):
        services.article_translation_create(actor=editor, article=original, locale="not a locale", title="x")
    services.article_set_status(actor=editor, article=variant, status="published")
    assert [h.article.pk for h in selectors.article_search(query="passwort", locale="de")] == [variant.pk]
    assert selectors.article_search(query="passwort", locale="en") == []


def test_bad_input_is_refused_with_the_field(editor, section):
    cases = [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"slug": "search"}, "slug"),
        ({"locale": "english please"}, "locale"),
        ({"section_id": 999999}, "section_id"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"body_markdown": "a\x00b"}, "body_markdown"),
    ]
    for overrides, field in cases:
        values = {"section_id": section.pk, "title": "Fine", **overrides}
        with pytest.raises(ValidationFailed) as exc:
            services.article_create(actor=editor, **values)
        assert field in exc.value.fields
    assert Article.objects.count() == 0


def test_analysts_read_but_cannot_write(make_user, make_article):
    article = make_article()
    analyst = make_user(Role.ANALYST)
    assert selectors.article_get_for(actor=analyst, article_id=article.pk) == article
    with pytest.raises(PermissionDenied):
        services.article_update(actor=analyst, article=article, values={"title": "Nope"})


def test_published_articles_must_be_archived_before_deletion(editor, make_article):
    article = make_article()
    with pytest.raises(Conflict):
        services.article_delete(actor=editor, article=article)
    services.article_set_status(actor=editor, article=article, status="archived")
    services.article_delete(actor=editor, article=article)
    assert not Article.objects.exists()
    assert selectors.article_search(query="password", include_unpublished=True, include_internal=True) == []


def test_hidden_articles_crowding_the_best_candidates_do_not_hide_public_ones(make_article, monkeypatch):
    from cx.kb import search

    monkeypatch.setattr(search, "MIN_CANDIDATES", 1)
    monkeypatch.setattr(search, "CANDIDATES_PER_HIT", 1)
    for n in range(3):
        make_article(title=f"Refund refund refund internal {n}", body="refund refund", is_internal=True)
    public = make_article(title="Money back", body="How a refund works")
    assert [h.article.pk for h in selectors.article_search(query="refund", limit=1)] == [public.pk]


def test_articles_with_every_word_rank_before_articles_with_some(make_article):
    some = make_article(title="Refunds", body="Refund refund refund: how refunds work")
    every = make_article(title="Card payments", body="A refund goes back to the card you paid with")
    other = make_article(title="Delivery", body="Parcels")
    hits = [h.article.pk for h in selectors.article_search(query="card refund")]
    assert hits[:2] == [every.pk, some.pk] and other.pk not in hits
    # An order number in the question does not hide the article about the words around it.
    assert selectors.article_search(query="refund for order 113542617735902")[0].article.pk in {some.pk, every.pk}
