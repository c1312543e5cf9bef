"""Reads of the knowledge base: agents' permission-checked getters, the public help center's getters (only
published, non-internal articles exist there), ``article_search`` and the KB reports."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.kb.models import (
    Article,
    ArticleFeedback,
    ArticleStatus,
    ArticleVersion,
    Category,
    DeflectionOutcome,
    SearchLog,
    Section,
    SuggestionOpen,
)
from cx.kb.search import ranked_article_ids, search_terms, snippet
from cx.kb.services import DEFLECTION_WINDOW, SEARCH_COLLECTION
from cx.search.selectors import search_hybrid

# The portal keeps the signed-in customer's id under this session key; the help center reads it to know
# whether a reader is a known customer (touchpoints) or anonymous (counters only).
logger = logging.getLogger(__name__)

PORTAL_SESSION_KEY = "cx.portal.customer_id"


def session_customer(session: Any) -> Customer | None:
    customer_id = session.get(PORTAL_SESSION_KEY) if session is not None else None
    if not isinstance(customer_id, int):
        return None
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or not customer.is_active_record:
        return None
    return customer


# --- agents ---------------------------------------------------------------------------------------------

def _articles() -> QuerySet[Article]:
    return Article.objects.select_related("section", "section__category", "source").prefetch_related("tags")


def article_list_for(*, actor: User, status: str | None = None, locale: str | None = None,
                     section_id: int | None = None, tag: str | None = None, internal: bool | None = None,
                     token_scope: AccessLevel | None = None) -> QuerySet[Article]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    qs = _articles().order_by("-updated_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if locale:
        qs = qs.filter(locale=locale)
    if section_id:
        qs = qs.filter(section_id=section_id)
    if tag:
        qs = qs.filter(tags__name=tag.lower())
    if internal is not None:
        qs = qs.filter(is_internal=internal)
    return qs


def article_get_for(*, actor: User, article_id: int, token_scope: AccessLevel | None = None) -> Article:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    article = _articles().filter(pk=article_id).first()
    if article is None:
        raise NotFound("The article does not exist.", fields={"article_id": "unknown article"})
    return article


def article_variants(*, article: Article) -> list[Article]:
    """All locale variants of the article, the original first."""
    original_id = article.source_id or article.pk
    return list(Article.objects.filter(Q(pk=original_id) | Q(source_id=original_id)).order_by("source_id", "locale"))


def article_versions(*, article: Article) -> QuerySet[ArticleVersion]:
    return article.versions.select_related("created_by").order_by("-number")


def version_get(*, article: Article, number: int) -> ArticleVersion:
    version = article.versions.filter(number=number).first()
    if version is None:
        raise NotFound("That version does not exist.", fields={"number": "unknown version"})
    return version


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "same"
    text: str


def version_diff(*, old: ArticleVersion, new_title: str, new_body: str) -> list[DiffLine]:
    """A unified line diff of title and Markdown body from ``old`` to the given content."""
    before = [f"# {old.title}", "", *old.body_markdown.splitlines()]
    after = [f"# {new_title}", "", *new_body.splitlines()]
    lines: list[DiffLine] = []
    for line in difflib.unified_diff(before, after, lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            lines.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("del", line[1:]))
        else:
            lines.append(DiffLine("same", line[1:]))
    return lines


def category_tree() -> QuerySet[Category]:
    return Category.objects.prefetch_related(
        Prefetch("sections", queryset=Section.objects.annotate(article_count=Count("articles")).order_by(
            "position", "name")))


def section_choices() -> list[tuple[int, str]]:
    return [(s.pk, f"{s.category.name} / {s.name}") for s in Section.objects.select_related("category")]


# --- search ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArticleHit:
    article: Article
    score: float
    snippet: str


def article_search(*, query: str, locale: str | None = None, category_id: int | None = None,
                   include_internal: bool = False, include_unpublished: bool = False,
                   limit: int = 10) -> list[ArticleHit]:
    """Articles best matching ``query``, best first. By default only what the public may read: published and
    not internal; ``locale`` and ``category_id`` narrow further. Raises ValidationFailed for an over-long query;
    a query without words gives no hits.

    The in-memory hybrid engine (``cx.search``: BM25 fused with embeddings, collection ``kb``) answers, with
    every filter applied inside the engine (the index carries ``status``, ``visibility``, ``locale`` and
    ``category`` per article) and the last word also completed as a prefix (search as you type). The only
    database reads per query are a handful of indexed rows: the collection's version and the hits' own rows,
    and every hit is checked again against its article row. The database full-text search answers only if
    the engine fails (e.g. its index directory is unwritable), so search keeps working."""
    terms = search_terms(query)
    if not terms:
        return []
    limit = max(1, min(limit, 50))
    options = {"locale": locale, "category_id": category_id, "include_internal": include_internal,
               "include_unpublished": include_unpublished, "limit": limit}
    try:
        hits = _engine_search(query=query, terms=terms, **options)
    except ValidationFailed:
        raise
    except Exception:  # the engine is an optimisation of relevance; the database can always answer
        logger.exception("kb: hybrid search failed; answering from the database full-text index")
        return _database_search(terms=terms, **options)
    return _every_word_first(hits, terms)[:limit]


# A semantic-only hit (no query word in the article) must be at least this similar to count as a result, so
# "no results" still means something (content gaps in the self-service report).
SEMANTIC_ONLY_MIN_SIMILARITY = 0.55


@dataclass(frozen=True)
class ArticleMatch:
    """An engine hit with its article: ``similarity`` (cosine, -1..1) is the answer bot's confidence."""

    article: Article
    similarity: float
    lexical_rank: int | None
    snippet: str


def article_matches(*, query: str, locale: str | None = None, limit: int = 5) -> list[ArticleMatch]:
    """Published public articles for ``query`` from the hybrid engine, with the engine's similarity (the
    answer bot thresholds on it). Never returns drafts, archived or internal articles."""
    filters = {"status": ArticleStatus.PUBLISHED, "visibility": "public"}
    if locale:
        filters["locale"] = locale.lower()
    hits = search_hybrid(collection=SEARCH_COLLECTION, query=query, limit=max(1, min(limit, 50)), filters=filters)
    articles = _articles().filter(status=ArticleStatus.PUBLISHED, is_internal=False).in_bulk(
        [_article_id(hit.doc_id) for hit in hits])
    matches = []
    for hit in hits:
        article = articles.get(_article_id(hit.doc_id))
        if article is not None and (not locale or article.locale.lower() == locale.lower()):
            matches.append(ArticleMatch(article=article, similarity=hit.similarity, lexical_rank=hit.lexical_rank,
                                        snippet=hit.snippet))
    return matches


def _article_id(doc_id: str) -> int:
    prefix, _, number = doc_id.partition("-")
    return int(number) if prefix == "article" and number.isdigit() else 0


def _engine_search(*, query: str, terms: list[str], locale: str | None, category_id: int | None,
                   include_internal: bool, include_unpublished: bool, limit: int) -> list[ArticleHit]:
    filters: dict[str, str] = {}
    if not include_unpublished:
        filters["status"] = ArticleStatus.PUBLISHED
    if not include_internal:
        filters["visibility"] = "public"
    if locale:
        filters["locale"] = locale.lower()
    if category_id is not None:
        filters["category"] = str(category_id)
    hits = search_hybrid(collection=SEARCH_COLLECTION, query=query, limit=limit, filters=filters or None,
                         complete_last_word=True)
    hits = [hit for hit in hits if hit.lexical_rank is not None or hit.similarity >= SEMANTIC_ONLY_MIN_SIMILARITY]
    if not hits:
        return []
    # The rows of the hits only (by primary key), checked again: the engine's filters are derived data.
    qs = _articles().defer("body_markdown", "body_html")
    if not include_unpublished:
        qs = qs.filter(status=ArticleStatus.PUBLISHED)
    if not include_internal:
        qs = qs.filter(is_internal=False)
    if locale:
        qs = qs.filter(locale=locale)
    if category_id is not None:
        qs = qs.filter(section__category_id=category_id)
    articles = qs.in_bulk([_article_id(hit.doc_id) for hit in hits])
    return [ArticleHit(article=articles[_article_id(hit.doc_id)], score=hit.score,
                       snippet=snippet(articles[_article_id(hit.doc_id)].body_text, terms))
            for hit in hits if _article_id(hit.doc_id) in articles]


def _every_word_first(hits: list[ArticleHit], terms: list[str]) -> list[ArticleHit]:
    """Articles containing every query word (as a word prefix) before the others, each group in the engine's
    order: what people expect of a multi-word search (the database path ranks the same way)."""
    required = [term for term in terms if not (term.isdigit() and len(term) > 4)] or terms
    if len(required) < 2:
        return hits

    def has_every_word(hit: ArticleHit) -> bool:
        words = set(_WORDS.findall(f"{hit.article.title} {hit.article.body_text}".lower()))
        return all(any(word.startswith(term) for word in words) for term in required)

    return sorted(hits, key=lambda hit: not has_every_word(hit))


_WORDS = re.compile(r"\w+")


def _database_search(*, terms: list[str], locale: str | None, category_id: int | None, include_internal: bool,
                     include_unpublished: bool, limit: int) -> list[ArticleHit]:
    conditions, params = ["1 = 1"], []
    if category_id is not None:
        conditions.append("a.section_id IN (SELECT s.id FROM kb_section s WHERE s.category_id = %s)")
        params.append(category_id)
    if not include_unpublished:
        conditions.append("a.status = %s")
        params.append(ArticleStatus.PUBLISHED)
    if not include_internal:
        conditions.append("a.is_internal = %s")
        params.append(False)
    if locale:
        conditions.append("a.locale = %s")
        params.append(locale)
    ranked = ranked_article_ids(terms=terms, where=" AND ".join(conditions), params=params, limit=limit)
    articles = _articles().in_bulk([article_id for article_id, _ in ranked])
    return [ArticleHit(article=articles[article_id], score=score,
                       snippet=snippet(articles[article_id].body_text, terms))
            for article_id, score in ranked if article_id in articles]


# --- the public help center -------------------------------------------------------------------------------

def public_articles(*, locale: str) -> QuerySet[Article]:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED, is_internal=False, locale=locale)


def public_categories(*, locale: str) -> list[Category]:
    """Categories with their sections and published articles in the locale (empty ones left out)."""
    articles = public_articles(locale=locale).only("id", "title", "slug", "section_id", "position", "locale")
    categories = Category.objects.prefetch_related(
        Prefetch("sections", queryset=Section.objects.order_by("position", "name").prefetch_related(
            Prefetch("articles", queryset=articles.order_by("position", "title"), to_attr="public_articles"))))
    found = []
    for category in categories:
        category.public_sections = [s for s in category.sections.all() if s.public_articles]
        if category.public_sections:
            found.append(category)
    return found


def public_search_category(slug: str | None) -> Category | None:
    """The category a help-center search is limited to (``?category=<slug>``), None for all; an unknown slug
    is a ValidationFailed naming the field (a stale link must not silently search everything)."""
    if not slug:
        return None
    found = Category.objects.filter(slug=slug[:120]).first()
    if found is None:
        raise ValidationFailed("There is no such category to search in.", fields={"category": "unknown category"})
    return found


def public_category_get(*, locale: str, category_slug: str) -> Category:
    for category in public_categories(locale=locale):
        if category.slug == category_slug:
            return category
    raise NotFound("There is no such category.")


def public_article_get(*, locale: str, category_slug: str, article_slug: str) -> Article:
    article = (public_articles(locale=locale).select_related("section", "section__category")
               .prefetch_related("attachments", "tags")
               .filter(slug=article_slug, section__category__slug=category_slug).first())
    if article is None:
        raise NotFound("There is no such article.")
    return article


def public_article_by_id(*, article_id: int) -> Article:
    article = Article.objects.select_related("section__category").filter(
        pk=article_id, status=ArticleStatus.PUBLISHED, is_internal=False).first()
    if article is None:
        raise NotFound("There is no such article.")
    return article


def public_article_variants(*, article: Article) -> list[Article]:
    return [a for a in article_variants(article=article) if a.is_public and a.pk != article.pk]


def sitemap_articles(*, locales: list[str] | None = None) -> QuerySet[Article]:
    qs = Article.objects.filter(status=ArticleStatus.PUBLISHED, is_internal=False)
    if locales is not None:
        qs = qs.filter(locale__in=locales)
    return (qs
            .select_related("section__category").only("slug", "locale", "updated_at", "section__category__slug")
            .order_by("locale", "id"))


def article_url_path(article: Article) -> str:
    return f"/help/{article.locale}/{article.section.category.slug}/{article.slug}/"


# --- reports --------------------------------------------------------------------------------------------

def kb_report(*, actor: User, days: int = 30, token_scope: AccessLevel | None = None) -> dict[str, Any]:
    """Self-service figures of the last ``days``: deflections, searches (and those without results),
    feedback, most viewed articles."""
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    now = timezone.now()
    since = now - timedelta(days=days)
    opens = SuggestionOpen.objects.filter(created_at__gte=since)
    settled = opens.filter(created_at__lt=now - DEFLECTION_WINDOW)
    deflected = settled.filter(outcome=DeflectionOutcome.PENDING).count()
    submitted = opens.filter(outcome=DeflectionOutcome.SUBMITTED).count()
    pending = opens.filter(outcome=DeflectionOutcome.PENDING, created_at__gte=now - DEFLECTION_WINDOW).count()
    decided = deflected + submitted
    by_article = list(settled.filter(outcome=DeflectionOutcome.PENDING).values("article_id", "article__title")
                      .annotate(n=Count("id")).order_by("-n")[:10])
    searches = SearchLog.objects.filter(created_at__gte=since)
    no_results = list(searches.filter(result_count=0).exclude(query="").values("query")
                      .annotate(n=Count("id")).order_by("-n", "query")[:20])
    top_queries = list(searches.exclude(query="").values("query").annotate(n=Count("id"))
                       .order_by("-n", "query")[:20])
    feedback = ArticleFeedback.objects.filter(created_at__gte=since)
    helpful = feedback.filter(helpful=True).count()
    total_feedback = feedback.count()
    return {
        "days": days,
        "suggestion_opens": opens.count(),
        "deflections": deflected,
        "submitted_anyway": submitted,
        "pending": pending,
        "deflection_rate": (deflected / decided) if decided else None,
        "deflections_by_article": by_article,
        "searches": searches.count(),
        "searches_without_results": searches.filter(result_count=0).count(),
        "top_queries": top_queries,
        "no_result_queries": no_results,
        "feedback": total_feedback,
        "helpful": helpful,
        "helpful_rate": (helpful / total_feedback) if total_feedback else None,
        "recent_comments": list(feedback.exclude(comment="").select_related("article")[:20]),
        "most_viewed": list(Article.objects.filter(view_count__gt=0).order_by("-view_count")[:10]),
    }
