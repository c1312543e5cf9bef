"""KB search runs on the hybrid engine (cx.search): the index follows every article change, and public searches
never see drafts, archived or internal articles."""

from __future__ import annotations

import pytest

from cx.kb import selectors, services
from cx.search.selectors import search_hybrid

pytestmark = pytest.mark.django_db


def _public(query: str) -> list[str]:
    return [hit.article.title for hit in selectors.article_search(query=query)]


def test_the_index_follows_edits_status_and_deletion(editor, make_article):
    article = make_article(title="Shipping times", body="Parcels arrive in three days.")
    assert _public("parcels arrive") == ["Shipping times"]
    services.article_update(actor=editor, article=article,
                            values={"title": "Delivery windows", "body_markdown": "Couriers deliver on weekdays."})
    assert _public("couriers weekdays") == ["Delivery windows"]
    old_words = search_hybrid(collection="kb", query="parcels", filters={"status": "published"})
    assert all(hit.lexical_rank is None for hit in old_words)  # the old text is gone from the BM25 index
    docs = search_hybrid(collection="kb", query="couriers", filters={"status": "published"})
    assert [d.doc_id for d in docs] == [f"article-{article.pk}"]
    services.article_set_status(actor=editor, article=article, status="archived")
    assert _public("couriers weekdays") == []
    assert [h.article.pk for h in selectors.article_search(query="couriers weekdays", include_unpublished=True)] \
        == [article.pk]
    services.article_delete(actor=editor, article=article)
    assert search_hybrid(collection="kb", query="couriers") == []


def test_internal_and_unpublished_articles_never_reach_public_search(editor, make_article):
    make_article(title="Refund policy", body="Refunds take five days.")
    make_article(title="Refund escalation (internal)", body="Refunds over 500 need a lead.", is_internal=True)
    make_article(title="Refund draft", body="Refunds new process.", status="draft")
    assert _public("refunds") == ["Refund policy"]
    assert [m.article.title for m in selectors.article_matches(query="refunds")] == ["Refund policy"]
    agent_titles = {h.article.title for h in selectors.article_search(query="refunds", include_internal=True,
                                                                         include_unpublished=True)}
    assert agent_titles == {"Refund policy", "Refund escalation (internal)", "Refund draft"}
    internal = list(selectors.article_search(query="refunds", include_internal=True))
    assert {h.article.title for h in internal} == {"Refund policy", "Refund escalation (internal)"}


def test_an_article_made_internal_leaves_public_search(editor, make_article):
    article = make_article(title="Wire transfers", body="Send a wire transfer to our bank.")
    assert _public("wire transfer") == ["Wire transfers"]
    services.article_update(actor=editor, article=article, values={"is_internal": True})
    assert _public("wire transfer") == []


def test_semantic_hits_find_articles_without_the_query_words(make_article):
    make_article(title="Reset your password", body="Open Settings and choose Reset password to get a new one.")
    make_article(title="Shipping times", body="Parcels arrive in three days.")
    assert _public("I forgot my password")[0] == "Reset your password"


def test_the_database_answers_when_the_engine_fails(make_article, monkeypatch):
    make_article(title="Shipping times", body="Parcels arrive in three days.")

    def broken(**kwargs):
        raise OSError("index directory not writable")

    monkeypatch.setattr(selectors, "search_hybrid", broken)
    assert _public("parcels") == ["Shipping times"]
