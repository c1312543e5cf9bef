"""Writes to the knowledge base: categories, sections, articles (versions, locale variants, attachments),
the help center's brand, and what readers do (views, searches, feedback, suggestion opens).

Every article content change stores a new ``ArticleVersion``; a restore copies an old version's content
into a new one, so history is never rewritten. Readers who are known customers (signed in to the portal) get
touchpoints on their timeline (channel ``self-service``); anonymous readers only move counters.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.customers.models import Customer
from cx.journeys.services import touchpoint_record
from cx.kb.markdown import html_to_text, markdown_render
from cx.kb.models import (
    Article,
    ArticleAttachment,
    ArticleFeedback,
    ArticleStatus,
    ArticleVersion,
    Category,
    DeflectionOutcome,
    HelpCenterSettings,
    KbTag,
    SearchLog,
    SearchSource,
    Section,
    SuggestionOpen,
)
from cx.search.services import DocumentIn, search_document_delete, search_document_upsert, search_documents_upsert

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_TAGS = 20
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_COMMENT = 2000
RESERVED_SLUGS = {"search", "suggest", "sitemap", "attachments", "feedback"}
# A suggestion opened this long before a submitted request is "not deflected"; older opens count.
DEFLECTION_WINDOW = timedelta(hours=1)
TOUCHPOINT_CHANNEL = "self-service"
TOUCHPOINT_SOURCE = "kb"
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --- helpers --------------------------------------------------------------------------------------------

def _clean_text(value: Any, *, field: str, max_length: int, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationFailed(f"The {field} is required.", fields={field: "required"})
    if len(text) > max_length:
        raise ValidationFailed(f"The {field} is too long.", fields={field: f"at most {max_length} characters"})
    return text


def _clean_locale(locale: Any) -> str:
    value = str(locale or "").strip()
    if not _LOCALE.match(value):
        raise ValidationFailed("The locale is not valid.", fields={"locale": "a language code such as en or pt-BR"})
    return value


def _clean_slug(slug: Any, *, fallback: str, field: str = "slug") -> str:
    value = str(slug or "").strip().lower() or slugify(fallback)[:100]
    if not value:
        value = "article"
    if not _SLUG.match(value) or len(value) > 120:
        raise ValidationFailed("The slug is not valid.",
                               fields={field: "lower-case letters, digits and single hyphens, at most 120"})
    if value in RESERVED_SLUGS:
        raise ValidationFailed("That slug is reserved.", fields={field: f"{value} is used by the help center"})
    return value


def _unique_article_slug(base: str, *, locale: str, exclude_id: int | None = None) -> str:
    candidate, n = base, 1
    while Article.objects.filter(locale=locale, slug=candidate).exclude(pk=exclude_id).exists():
        n += 1
        candidate = f"{base[:110]}-{n}"
    return candidate


def _clean_body(body: Any) -> str:
    text = str(body or "")
    if "\x00" in text:
        raise ValidationFailed("The body contains a NUL character.", fields={"body_markdown": "must not contain NUL"})
    if len(text) > MAX_BODY:
        raise ValidationFailed("The article is too long.", fields={"body_markdown": f"at most {MAX_BODY} characters"})
    return text


def _clean_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list | tuple):
        raise ValidationFailed("Tags must be a list.", fields={"tags": "a list of words"})
    names: list[str] = []
    for tag in tags:
        name = " ".join(str(tag).split()).lower()
        if not name:
            continue
        if len(name) > 50:
            raise ValidationFailed("A tag is too long.", fields={"tags": "each at most 50 characters"})
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationFailed("Too many tags.", fields={"tags": f"at most {MAX_TAGS}"})
    return names


def _set_tags(article: Article, names: list[str]) -> None:
    tags = []
    for name in names:
        tag, _ = KbTag.objects.get_or_create(name=name)
        tags.append(tag)
    article.tags.set(tags)


def _render(article: Article) -> None:
    article.body_html = markdown_render(article.body_markdown)
    article.body_text = html_to_text(article.body_html)


def _snapshot(article: Article, *, actor: User | None, note: str) -> ArticleVersion:
    return ArticleVersion.objects.create(article=article, number=article.version, title=article.title,
                                         body_markdown=article.body_markdown, status=article.status,
                                         note=note[:200], created_by=actor)


def _section(section_id: Any) -> Section:
    try:
        return Section.objects.select_related("category").get(pk=int(section_id))
    except (TypeError, ValueError, Section.DoesNotExist):
        raise ValidationFailed("The section does not exist.", fields={"section_id": "unknown section"}) from None


# --- categories and sections ----------------------------------------------------------------------------

@transaction.atomic
def category_create(*, actor: User, name: str, slug: str = "", description: str = "", position: int = 0,
                    token_scope: AccessLevel | None = None) -> Category:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    name = _clean_text(name, field="name", max_length=120)
    slug = _clean_slug(slug, fallback=name)
    if Category.objects.filter(slug=slug).exists():
        raise Conflict("A category with this slug exists.", fields={"slug": "already used"})
    category = Category.objects.create(name=name, slug=slug, description=str(description or "")[:2000],
                                       position=max(0, int(position or 0)))
    audit_record(actor=actor, action="kb.category_created", target_type="kb.category", target_id=category.pk,
                 data={"name": name, "slug": slug})
    return category


@transaction.atomic
def category_update(*, actor: User, category: Category, values: dict[str, Any],
                    token_scope: AccessLevel | None = None) -> Category:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if "name" in values:
        category.name = _clean_text(values["name"], field="name", max_length=120)
    if "slug" in values:
        slug = _clean_slug(values["slug"], fallback=category.name)
        if Category.objects.filter(slug=slug).exclude(pk=category.pk).exists():
            raise Conflict("A category with this slug exists.", fields={"slug": "already used"})
        category.slug = slug
    if "description" in values:
        category.description = str(values["description"] or "")[:2000]
    if "position" in values:
        category.position = max(0, int(values["position"] or 0))
    category.save()
    audit_record(actor=actor, action="kb.category_updated", target_type="kb.category", target_id=category.pk,
                 data={k: str(v)[:200] for k, v in values.items()})
    return category


@transaction.atomic
def category_delete(*, actor: User, category: Category, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if Article.objects.filter(section__category=category).exists():
        raise Conflict("The category still has articles; move or delete them first.", fields={"category": "not empty"})
    audit_record(actor=actor, action="kb.category_deleted", target_type="kb.category", target_id=category.pk,
                 data={"name": category.name})
    category.sections.all().delete()
    category.delete()


@transaction.atomic
def section_create(*, actor: User, category_id: Any, name: str, slug: str = "", description: str = "",
                   position: int = 0, token_scope: AccessLevel | None = None) -> Section:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    try:
        category = Category.objects.get(pk=int(category_id))
    except (TypeError, ValueError, Category.DoesNotExist):
        raise ValidationFailed("The category does not exist.", fields={"category_id": "unknown category"}) from None
    name = _clean_text(name, field="name", max_length=120)
    slug = _clean_slug(slug, fallback=name)
    if category.sections.filter(slug=slug).exists():
        raise Conflict("A section with this slug exists in the category.", fields={"slug": "already used"})
    section = Section.objects.create(category=category, name=name, slug=slug,
                                     description=str(description or "")[:2000], position=max(0, int(position or 0)))
    audit_record(actor=actor, action="kb.section_created", target_type="kb.section", target_id=section.pk,
                 data={"name": name, "category_id": category.pk})
    return section


@transaction.atomic
def section_delete(*, actor: User, section: Section, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if section.articles.exists():
        raise Conflict("The section still has articles; move or delete them first.", fields={"section": "not empty"})
    audit_record(actor=actor, action="kb.section_deleted", target_type="kb.section", target_id=section.pk,
                 data={"name": section.name})
    section.delete()


# --- the hybrid search index (cx.search) ---------------------------------------------------------------------

SEARCH_COLLECTION = "kb"


def search_doc_id(article_id: int) -> str:
    return f"article-{article_id}"


def _index(article: Article) -> None:
    """Keep the article's document in the hybrid engine in step, in the same transaction as the change. Every
    article is indexed (agents search drafts and internal ones too); the filters ``status`` and ``visibility``
    let public searches ask only for published public articles, ``locale`` and ``category`` narrow them.
    Sections cannot change category, so an article's category changes only through ``article_update``."""
    search_document_upsert(collection=SEARCH_COLLECTION, doc_id=search_doc_id(article.pk), title=article.title,
                           text=article.body_text, filters=search_filters(article))


def search_filters(article: Article) -> dict[str, str]:
    """The engine's filter attributes of an article (kept in step by every service that changes one)."""
    return {"locale": article.locale.lower(), "status": article.status,
            "visibility": "internal" if article.is_internal else "public",
            "category": str(article.section.category_id)}


def kb_search_reindex(*, batch_size: int = 500) -> int:
    """(Re)index every article, e.g. after restoring a database without its search collection."""
    count, batch = 0, []
    for article in Article.objects.select_related("section").order_by("pk").iterator(chunk_size=batch_size):
        batch.append(DocumentIn(doc_id=search_doc_id(article.pk), title=article.title, text=article.body_text,
                                filters=search_filters(article)))
        if len(batch) >= batch_size:
            count += search_documents_upsert(collection=SEARCH_COLLECTION, documents=batch)
            batch = []
    if batch:
        count += search_documents_upsert(collection=SEARCH_COLLECTION, documents=batch)
    return count


# --- articles -------------------------------------------------------------------------------------------

@transaction.atomic
def article_create(*, actor: User, section_id: Any, title: str, body_markdown: str = "", locale: str = "",
                   slug: str = "", tags: Any = None, is_internal: bool = False,
                   status: str = ArticleStatus.DRAFT, created_from_ticket_id: int | None = None,
                   token_scope: AccessLevel | None = None) -> Article:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    section = _section(section_id)
    title = _clean_text(title, field="title", max_length=MAX_TITLE)
    locale = _clean_locale(locale or help_center_settings().default_locale)
    if status not in ArticleStatus.values:
        raise ValidationFailed("The status is not valid.",
                               fields={"status": f"one of {', '.join(ArticleStatus.values)}"})
    base_slug = _clean_slug(slug, fallback=title)
    if slug and Article.objects.filter(locale=locale, slug=base_slug).exists():
        raise Conflict("An article with this slug exists in this locale.", fields={"slug": "already used"})
    article = Article(section=section, title=title, locale=locale, body_markdown=_clean_body(body_markdown),
                      slug=_unique_article_slug(base_slug, locale=locale), is_internal=bool(is_internal),
                      status=status, author=actor, updated_by=actor, created_from_ticket_id=created_from_ticket_id)
    if status == ArticleStatus.PUBLISHED:
        article.published_at = timezone.now()
    _render(article)
    article.save()
    _set_tags(article, _clean_tags(tags))
    _snapshot(article, actor=actor, note="Created")
    _index(article)
    audit_record(actor=actor, action="kb.article_created", target_type="kb.article", target_id=article.pk,
                 data={"title": title, "locale": locale, "status": status, "ticket_id": created_from_ticket_id})
    return article


_CONTENT_FIELDS = ("title", "body_markdown")


@transaction.atomic
def article_update(*, actor: User, article: Article, values: dict[str, Any], note: str = "",
                   token_scope: AccessLevel | None = None) -> Article:
    """Change an article; a change of title or body stores a new version."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    article = Article.objects.select_for_update().get(pk=article.pk)
    known = {"title", "body_markdown", "slug", "section_id", "tags", "is_internal", "position"}
    unknown = set(values) - known
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "not a field of an article"))
    changed: dict[str, list[Any]] = {}
    if "title" in values:
        title = _clean_text(values["title"], field="title", max_length=MAX_TITLE)
        if title != article.title:
            changed["title"] = [article.title, title]
            article.title = title
    if "body_markdown" in values:
        body = _clean_body(values["body_markdown"])
        if body != article.body_markdown:
            changed["body_markdown"] = ["…", "…"]
            article.body_markdown = body
    if "slug" in values:
        slug = _clean_slug(values["slug"], fallback=article.title)
        if slug != article.slug:
            if Article.objects.filter(locale=article.locale, slug=slug).exclude(pk=article.pk).exists():
                raise Conflict("An article with this slug exists in this locale.", fields={"slug": "already used"})
            changed["slug"] = [article.slug, slug]
            article.slug = slug
    if "section_id" in values and values["section_id"] is not None:
        section = _section(values["section_id"])
        if section.pk != article.section_id:
            changed["section_id"] = [article.section_id, section.pk]
            article.section = section
    if "is_internal" in values and bool(values["is_internal"]) != article.is_internal:
        changed["is_internal"] = [article.is_internal, bool(values["is_internal"])]
        article.is_internal = bool(values["is_internal"])
    if "position" in values:
        article.position = max(0, int(values["position"] or 0))
    if "tags" in values:
        names = _clean_tags(values["tags"])
        old = sorted(article.tags.values_list("name", flat=True))
        if sorted(names) != old:
            changed["tags"] = [old, sorted(names)]
            _set_tags(article, names)
    content_changed = any(name in changed for name in _CONTENT_FIELDS)
    if content_changed:
        _render(article)
        article.version += 1
    article.updated_by = actor
    article.save()
    if content_changed:
        _snapshot(article, actor=actor, note=note or "Edited")
    _index(article)
    if changed:
        audit_record(actor=actor, action="kb.article_updated", target_type="kb.article", target_id=article.pk,
                     data={"changes": changed, "version": article.version})
    return article


@transaction.atomic
def article_set_status(*, actor: User, article: Article, status: str,
                       token_scope: AccessLevel | None = None) -> Article:
    """Publish, unpublish (back to draft) or archive."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if status not in ArticleStatus.values:
        raise ValidationFailed("The status is not valid.",
                               fields={"status": f"one of {', '.join(ArticleStatus.values)}"})
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.status == status:
        return article
    if status == ArticleStatus.PUBLISHED and not article.body_markdown.strip():
        raise ValidationFailed("An empty article cannot be published.", fields={"body_markdown": "required to publish"})
    old = article.status
    article.status = status
    if status == ArticleStatus.PUBLISHED:
        article.published_at = timezone.now()
    article.updated_by = actor
    article.save(update_fields=["status", "published_at", "updated_by", "updated_at"])
    _index(article)
    audit_record(actor=actor, action=f"kb.article_{status}", target_type="kb.article", target_id=article.pk,
                 data={"status": [old, status]})
    return article


@transaction.atomic
def article_restore(*, actor: User, article: Article, number: int,
                    token_scope: AccessLevel | None = None) -> Article:
    """Bring back an old version's title and body as a new version (history stays intact)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    version = ArticleVersion.objects.filter(article=article, number=number).first()
    if version is None:
        raise NotFound("That version does not exist.", fields={"number": "unknown version"})
    if version.title == article.title and version.body_markdown == article.body_markdown:
        raise Conflict("The article already has this content.", fields={"number": "same as the current version"})
    updated = article_update(actor=actor, article=article, token_scope=token_scope,
                             values={"title": version.title, "body_markdown": version.body_markdown},
                             note=f"Restored version {number}")
    audit_record(actor=actor, action="kb.article_restored", target_type="kb.article", target_id=article.pk,
                 data={"restored": number, "version": updated.version})
    return updated


@transaction.atomic
def article_translation_create(*, actor: User, article: Article, locale: str, title: str,
                               body_markdown: str = "", token_scope: AccessLevel | None = None) -> Article:
    """A locale variant of ``article`` (in the same section, sharing visibility and tags), as a draft."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    original = article.source or article
    locale = _clean_locale(locale)
    if original.locale == locale or original.variants.filter(locale=locale).exists():
        raise Conflict("This article already exists in that locale.", fields={"locale": "already translated"})
    variant = article_create(actor=actor, section_id=original.section_id, title=title, body_markdown=body_markdown,
                             locale=locale, tags=list(original.tags.values_list("name", flat=True)),
                             is_internal=original.is_internal, token_scope=token_scope)
    variant.source = original
    variant.save(update_fields=["source"])
    return variant


@transaction.atomic
def article_delete(*, actor: User, article: Article, token_scope: AccessLevel | None = None) -> None:
    """Delete a draft or archived article (published ones must be archived first, so links never break
    silently)."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    article = Article.objects.select_for_update().get(pk=article.pk)
    if article.status == ArticleStatus.PUBLISHED:
        raise Conflict("Archive the article before deleting it.", fields={"status": "published"})
    audit_record(actor=actor, action="kb.article_deleted", target_type="kb.article", target_id=article.pk,
                 data={"title": article.title, "locale": article.locale})
    for attachment in article.attachments.all():
        attachment.file.delete(save=False)
    search_document_delete(collection=SEARCH_COLLECTION, doc_id=search_doc_id(article.pk))
    article.delete()


@transaction.atomic
def article_attachment_add(*, actor: User, article: Article, upload: UploadedFile,
                           token_scope: AccessLevel | None = None) -> ArticleAttachment:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    if upload is None:
        raise ValidationFailed("Choose a file.", fields={"file": "required"})
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed("The file is too large.", fields={"file": f"at most {MAX_ATTACHMENT_BYTES // 2**20} MB"})
    name = (upload.name or "file").rsplit("/", 1)[-1][:255]
    attachment = ArticleAttachment(article=article, filename=name, size=upload.size, uploaded_by=actor,
                                   content_type=(upload.content_type or "application/octet-stream")[:100])
    attachment.file.save(name, upload, save=False)
    attachment.save()
    audit_record(actor=actor, action="kb.attachment_added", target_type="kb.article", target_id=article.pk,
                 data={"attachment_id": attachment.pk, "filename": name})
    return attachment


@transaction.atomic
def article_attachment_delete(*, actor: User, attachment: ArticleAttachment,
                              token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    audit_record(actor=actor, action="kb.attachment_deleted", target_type="kb.article",
                 target_id=attachment.article_id, data={"filename": attachment.filename})
    attachment.file.delete(save=False)
    attachment.delete()


@transaction.atomic
def article_from_ticket_answer(*, actor: User, section_id: Any, title: str, question: str, answer: str,
                               ticket_id: int, token_scope: AccessLevel | None = None) -> Article:
    """A draft article made from a ticket's question and the agent's answer (the view finds them)."""
    if not answer.strip():
        raise ValidationFailed("The ticket has no public agent reply to turn into an article.",
                               fields={"ticket": "no answer yet"})
    body = answer.strip()
    if question.strip():
        quoted = "\n".join(f"> {line}" if line else ">" for line in question.strip().splitlines())
        body = f"{quoted}\n\n{body}"
    return article_create(actor=actor, section_id=section_id, title=title, body_markdown=body,
                          created_from_ticket_id=ticket_id, tags=["from-ticket"], token_scope=token_scope)


# --- help center brand ----------------------------------------------------------------------------------

def help_center_settings() -> HelpCenterSettings:
    found = HelpCenterSettings.objects.order_by("pk").first()
    return found if found is not None else HelpCenterSettings.objects.create()


@transaction.atomic
def help_center_settings_update(*, actor: User, values: dict[str, Any], logo: UploadedFile | None = None,
                                token_scope: AccessLevel | None = None) -> HelpCenterSettings:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    current = help_center_settings()
    errors: dict[str, str] = {}
    for field in ("primary_color", "accent_color"):
        if field in values and not _COLOR.match(str(values[field] or "")):
            errors[field] = "a colour like #1f5fbf"
    locales: list[str] = []
    if "locales" in values:
        for part in str(values["locales"] or "").split(","):
            part = part.strip()
            if not part:
                continue
            if not _LOCALE.match(part):
                errors["locales"] = f"{part[:20]} is not a language code"
            locales.append(part)
    if "default_locale" in values and not _LOCALE.match(str(values["default_locale"] or "")):
        errors["default_locale"] = "a language code such as en"
    if logo is not None and (logo.size > 2 * 2**20 or not (logo.content_type or "").startswith("image/")):
        errors["logo"] = "an image of at most 2 MB"
    if errors:
        raise ValidationFailed("Some settings are invalid.", fields=errors)
    if "name" in values:
        current.name = _clean_text(values["name"], field="name", max_length=100)
    if "tagline" in values:
        current.tagline = _clean_text(values["tagline"], field="tagline", max_length=200, required=False)
    for field in ("primary_color", "accent_color", "default_locale"):
        if field in values:
            setattr(current, field, str(values[field]))
    if "locales" in values:
        current.locales = ",".join(dict.fromkeys(locales)) or current.default_locale
    if logo is not None:
        current.logo.save(logo.name.rsplit("/", 1)[-1], logo, save=False)
    current.save()
    audit_record(actor=actor, action="kb.settings_updated", target_type="kb.settings", target_id=current.pk,
                 data={k: str(v)[:100] for k, v in values.items()})
    return current


# --- readers ----------------------------------------------------------------------------------------------

def _touch(customer: Customer | None, *, kind: str, stage: str, properties: dict[str, Any]) -> None:
    if customer is None or not customer.is_active_record:
        return
    touchpoint_record(customer=customer, kind=kind, channel=TOUCHPOINT_CHANNEL, stage=stage,
                      properties=properties, source=TOUCHPOINT_SOURCE)


@transaction.atomic
def article_view_record(*, article: Article, customer: Customer | None = None) -> None:
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    _touch(customer, kind="kb.article_viewed", stage="usage",
           properties={"article_id": article.pk, "title": article.title, "locale": article.locale})


@transaction.atomic
def article_feedback_record(*, article: Article, helpful: bool, comment: str = "",
                            customer: Customer | None = None) -> ArticleFeedback:
    if not article.is_public:
        raise NotFound("The article does not exist.")
    comment = str(comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed("The comment is too long.", fields={"comment": f"at most {MAX_COMMENT} characters"})
    if "\x00" in comment:
        raise ValidationFailed("The comment contains a NUL character.", fields={"comment": "must not contain NUL"})
    feedback = ArticleFeedback.objects.create(article=article, helpful=bool(helpful), comment=comment,
                                              customer=customer)
    counter = "helpful_count" if helpful else "unhelpful_count"
    Article.objects.filter(pk=article.pk).update(**{counter: F(counter) + 1})
    _touch(customer, kind="kb.article_rated", stage="support",
           properties={"article_id": article.pk, "title": article.title, "helpful": bool(helpful),
                       "has_comment": bool(comment)})
    return feedback


@transaction.atomic
def article_feedback_comment(*, feedback: ArticleFeedback, comment: str) -> ArticleFeedback:
    """The optional comment that follows a yes/no vote."""
    comment = str(comment or "").strip()
    if not comment:
        raise ValidationFailed("Write a comment first.", fields={"comment": "required"})
    if len(comment) > MAX_COMMENT or "\x00" in comment:
        raise ValidationFailed("The comment is not valid.", fields={"comment": f"at most {MAX_COMMENT} characters"})
    feedback.comment = comment
    feedback.save(update_fields=["comment"])
    return feedback


@transaction.atomic
def search_log_record(*, query: str, locale: str, source: str, result_count: int,
                      customer: Customer | None = None) -> SearchLog:
    if source not in SearchSource.values:
        raise ValidationFailed("Unknown search source.", fields={"source": f"one of {', '.join(SearchSource.values)}"})
    entry = SearchLog.objects.create(query=query[:200], locale=locale[:16], source=source,
                                     result_count=result_count, customer=customer)
    _touch(customer, kind="kb.searched" if result_count else "kb.searched_no_results", stage="support",
           properties={"query": query[:200], "results": result_count, "locale": locale})
    return entry


@transaction.atomic
def suggestion_open_record(*, article: Article, customer: Customer | None, query: str = "") -> SuggestionOpen:
    if not article.is_public:
        raise NotFound("The article does not exist.")
    opened = SuggestionOpen.objects.create(article=article, customer=customer, query=str(query or "")[:250])
    _touch(customer, kind="kb.suggestion_opened", stage="support",
           properties={"article_id": article.pk, "title": article.title, "query": str(query or "")[:250]})
    return opened


@transaction.atomic
def suggestion_opens_submitted(*, customer: Customer, now: datetime | None = None) -> int:
    """The customer submitted a request after all: their recent opens were not deflections."""
    now = now or timezone.now()
    return SuggestionOpen.objects.filter(customer=customer, outcome=DeflectionOutcome.PENDING,
                                         created_at__gte=now - DEFLECTION_WINDOW).update(
        outcome=DeflectionOutcome.SUBMITTED, resolved_at=now)


class KbDataHandler:
    """Lets customer merge, export and erasure reach feedback, searches and suggestion opens."""

    name = "kb"

    def export(self, *, customer_id: int) -> list[dict]:
        rows: list[dict] = []
        for fb in ArticleFeedback.objects.filter(customer_id=customer_id).order_by("created_at"):
            rows.append({"type": "article_feedback", "article_id": fb.article_id, "helpful": fb.helpful,
                         "comment": fb.comment, "created_at": fb.created_at.isoformat()})
        for log in SearchLog.objects.filter(customer_id=customer_id).order_by("created_at"):
            rows.append({"type": "search", "query": log.query, "results": log.result_count,
                         "created_at": log.created_at.isoformat()})
        for opened in SuggestionOpen.objects.filter(customer_id=customer_id).order_by("created_at"):
            rows.append({"type": "suggestion_open", "article_id": opened.article_id, "query": opened.query,
                         "outcome": opened.outcome, "created_at": opened.created_at.isoformat()})
        return rows

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        moved: list[int] = []
        for model in (ArticleFeedback, SearchLog, SuggestionOpen):
            ids = list(model.objects.filter(customer_id=source_id).values_list("pk", flat=True))
            model.objects.filter(pk__in=ids).update(customer_id=target_id)
            moved += ids
        return moved

    def erase(self, *, customer_id: int) -> int:
        changed = ArticleFeedback.objects.filter(customer_id=customer_id).update(comment="", customer=None)
        changed += SearchLog.objects.filter(customer_id=customer_id).update(query="", customer=None)
        changed += SuggestionOpen.objects.filter(customer_id=customer_id).update(query="", customer=None)
        return changed
