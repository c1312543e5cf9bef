"""API shapes for the knowledge base. In-schemas refuse unknown fields; the services check lengths, slugs,
locales and tags, so the API and the agent pages give the same reasons."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict

from cx.kb.models import ArticleStatus


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class CategoryIn(_In):
    name: str
    slug: str = ""
    description: str = ""
    position: int = 0


class CategoryPatchIn(_In):
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    position: int | None = None


class SectionOut(Schema):
    id: int
    category_id: int
    name: str
    slug: str
    description: str
    position: int


class CategoryOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    position: int
    sections: list[SectionOut]

    @staticmethod
    def resolve_sections(obj) -> list:
        return list(obj.sections.all())


class SectionIn(_In):
    category_id: int
    name: str
    slug: str = ""
    description: str = ""
    position: int = 0


class ArticleIn(_In):
    section_id: int
    title: str
    body_markdown: str = ""
    locale: str = ""
    slug: str = ""
    tags: list[str] = []
    is_internal: bool = False
    status: ArticleStatus = ArticleStatus.DRAFT


class ArticlePatchIn(_In):
    section_id: int | None = None
    title: str | None = None
    body_markdown: str | None = None
    slug: str | None = None
    tags: list[str] | None = None
    is_internal: bool | None = None
    position: int | None = None
    note: str = ""


class StatusIn(_In):
    status: ArticleStatus


class TranslationIn(_In):
    locale: str
    title: str
    body_markdown: str = ""


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    url: str

    @staticmethod
    def resolve_url(obj) -> str:
        return f"/help/attachments/{obj.pk}/{obj.filename}"


class ArticleOut(Schema):
    id: int
    section_id: int
    category_id: int
    source_id: int | None
    locale: str
    title: str
    slug: str
    body_markdown: str
    body_html: str
    status: str
    is_internal: bool
    tags: list[str]
    version: int
    view_count: int
    helpful_count: int
    unhelpful_count: int
    public_url: str | None
    created_from_ticket_id: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @staticmethod
    def resolve_category_id(obj) -> int:
        return obj.section.category_id

    @staticmethod
    def resolve_tags(obj) -> list[str]:
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_public_url(obj) -> str | None:
        if not obj.is_public:
            return None
        return f"/help/{obj.locale}/{obj.section.category.slug}/{obj.slug}/"


class ArticleBriefOut(Schema):
    id: int
    title: str
    locale: str
    status: str
    is_internal: bool
    updated_at: datetime


class VersionOut(Schema):
    number: int
    title: str
    body_markdown: str
    status: str
    note: str
    created_by: str | None
    created_at: datetime

    @staticmethod
    def resolve_created_by(obj) -> str | None:
        return obj.created_by.username if obj.created_by else None


class DiffLineOut(Schema):
    kind: str
    text: str


class DiffOut(Schema):
    from_version: int
    to_version: int
    lines: list[DiffLineOut]


class HitOut(Schema):
    id: int
    title: str
    locale: str
    status: str
    is_internal: bool
    score: float
    snippet: str
