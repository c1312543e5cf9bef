"""KB search is served by the in-memory hybrid engine with every filter applied there: locale, status,
visibility and category; half-typed words are completed by the engine; no query falls back to the database's
full-text search and the database reads per query stay a constant handful whatever the corpus size."""

from __future__ import annotations

import pytest

from cx.kb import selectors, services
from cx.search.selectors import search_hybrid

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_database_search(monkeypatch):
    """Fail the test if the database full-text path answers any part of a search."""

    def refuse(**kwargs):
        raise AssertionError("article_search used the database full-text search")

    monkeypatch.setattr(selectors, "_database_search", refuse)


@pytest.fixture
def other_section(editor):
    category = services.category_create(actor=editor, name="Shipping", slug="shipping")
    return services.section_create(actor=editor, category_id=category.pk, name="Parcels", slug="parcels")


def _titles(**kwargs) -> list[str]:
    return [hit.article.title for hit in selectors.article_search(**kwargs)]


def test_filters_are_applied_inside_the_engine(editor, section, other_section, make_article, no_database_search):
    make_article(title="Refund policy", body="Refunds reach your card in five days.")
    shipped = services.article_create(actor=editor, section_id=other_section.pk, title="Refund for a lost parcel",
                                      body_markdown="Refunds for lost parcels need a tracking number.")
    services.article_set_status(actor=editor, article=shipped, status="published")
    make_article(title="Refund escalation", body="Refunds over 500 need a lead.", is_internal=True)
    make_article(title="Refund draft", body="Refunds new process.", status="draft")
    make_article(title="Rückerstattung", body="Refunds auf Deutsch.", locale="de")

    assert set(_titles(query="refunds", locale="en")) == {"Refund policy", "Refund for a lost parcel"}
    assert _titles(query="refunds", locale="en", category_id=other_section.category_id) == ["Refund for a lost parcel"]
    assert _titles(query="refunds", locale="en", category_id=section.category_id) == ["Refund policy"]
    assert _titles(query="refunds", locale="de") == ["Rückerstattung"]
    # Agents' search sees internal and unpublished articles of the category; the public never does.
    agents = set(_titles(query="refunds", locale="en", category_id=section.category_id, include_internal=True,
                         include_unpublished=True))
    assert agents == {"Refund policy", "Refund escalation", "Refund draft"}
    public = search_hybrid(collection="kb", query="refunds", limit=20,
                           filters={"status": "published", "visibility": "public", "locale": "en",
                                    "category": str(section.category_id)})
    assert [hit.title for hit in public] == ["Refund policy"]


def test_moving_an_article_to_another_category_moves_it_in_the_index(editor, section, other_section, make_article,
                                                                     no_database_search):
    article = make_article(title="Customs fees", body="Customs fees are paid on delivery.")
    assert _titles(query="customs", category_id=section.category_id) == ["Customs fees"]
    services.article_update(actor=editor, article=article, values={"section_id": other_section.pk})
    assert _titles(query="customs", category_id=section.category_id) == []
    assert _titles(query="customs", category_id=other_section.category_id) == ["Customs fees"]


def test_half_typed_last_word_is_completed_by_the_engine(make_article, no_database_search):
    make_article(title="Reset your password", body="Open Settings and choose Reset password.")
    make_article(title="Delivery times", body="Parcels arrive in three days.")
    assert _titles(query="passw") == ["Reset your password"]
    assert _titles(query="reset passw")[0] == "Reset your password"
    assert _titles(query="deliver")[0] == "Delivery times"
    # Two letters are not completed (they would match much of the vocabulary).
    assert "Delivery times" not in _titles(query="de")


def test_a_whole_word_match_ranks_above_a_completed_prefix(make_article, no_database_search):
    make_article(title="Card limits", body="Each card has a daily limit.")
    make_article(title="Cardholder names", body="The cardholder name must match the account.")
    assert set(_titles(query="card")) == {"Card limits", "Cardholder names"}
    # In the BM25 half the whole word outranks the completed prefix (the fused order also weighs the
    # embeddings, so it is asserted on the lexical ranks).
    hits = search_hybrid(collection="kb", query="card", complete_last_word=True)
    assert {hit.title: hit.lexical_rank for hit in hits} == {"Card limits": 1, "Cardholder names": 2}


def test_search_reads_a_constant_number_of_rows_per_query(editor, section, make_article,
                                                          django_assert_max_num_queries, no_database_search):
    for n in range(30):
        make_article(title=f"Billing question {n}", body=f"Invoices and billing, case {n}.")
    selectors.article_search(query="billing invoices", limit=10)  # the process loads the index once
    # collection version + the hits' search rows + the articles (with section/category) + their tags
    with django_assert_max_num_queries(4):
        hits = selectors.article_search(query="billing invoices", limit=10)
    assert len(hits) == 10


def test_help_center_search_and_suggestions_can_be_limited_to_a_category(client, editor, section, other_section,
                                                                        make_article, no_database_search):
    make_article(title="Refund policy", body="Refunds reach your card in five days.")
    shipped = services.article_create(actor=editor, section_id=other_section.pk, title="Refund for a lost parcel",
                                      body_markdown="Refunds for lost parcels need a tracking number.")
    services.article_set_status(actor=editor, article=shipped, status="published")

    everything = client.get("/help/en/search/", {"q": "refunds"}).content.decode()
    assert "Refund policy" in everything and "Refund for a lost parcel" in everything
    scoped = client.get("/help/en/search/", {"q": "refunds", "category": "shipping"}).content.decode()
    assert "Refund for a lost parcel" in scoped and "Refund policy" not in scoped
    assert 'name="category" value="shipping" checked' in scoped
    suggestions = client.get("/help/en/suggest/", {"q": "refu", "category": "billing"}).content.decode()
    assert "Refund policy" in suggestions and "lost parcel" not in suggestions
    category_page = client.get("/help/en/shipping/").content.decode()
    assert 'name="category" value="shipping" checked' in category_page
    assert 'hx-include="closest form"' in category_page

    unknown = client.get("/help/en/search/", {"q": "refunds", "category": "nope"})
    assert unknown.status_code == 422
    assert "no such category" in unknown.content.decode()
