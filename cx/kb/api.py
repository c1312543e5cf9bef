"""API endpoints for the knowledge base: categories, sections, articles (CRUD, publish/archive, versions with
diff and restore, translations, attachments) and agent search. Token scopes apply as everywhere: reads need
read, writes need write."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import File, Query, Router, UploadedFile

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import NotFound, ValidationFailed
from cx.kb import selectors, services
from cx.kb.models import ArticleAttachment, Category, Section
from cx.kb.schemas import (
    ArticleBriefOut,
    ArticleIn,
    ArticleOut,
    ArticlePatchIn,
    AttachmentOut,
    CategoryIn,
    CategoryOut,
    CategoryPatchIn,
    DiffOut,
    HitOut,
    SectionIn,
    SectionOut,
    StatusIn,
    TranslationIn,
    VersionOut,
)

router = Router(tags=["knowledge base"])
MAX_LIST = 200


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _article(request: HttpRequest, article_id: int):
    return selectors.article_get_for(actor=request.auth, article_id=article_id, token_scope=_scope(request))


def _category(category_id: int) -> Category:
    found = Category.objects.filter(pk=category_id).first()
    if found is None:
        raise NotFound("The category does not exist.", fields={"category_id": "unknown category"})
    return found


@router.get("/kb/categories", response=list[CategoryOut], summary="Categories with their sections")
def category_list(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return list(Category.objects.prefetch_related("sections"))


@router.post("/kb/categories", response={201: CategoryOut}, summary="Create a category")
def category_create(request: HttpRequest, payload: CategoryIn):
    return services.category_create(actor=request.auth, token_scope=_scope(request), **payload.model_dump())


@router.patch("/kb/categories/{int:category_id}", response=CategoryOut, summary="Change a category")
def category_patch(request: HttpRequest, category_id: int, payload: CategoryPatchIn):
    return services.category_update(actor=request.auth, category=_category(category_id), token_scope=_scope(request),
                                    values=payload.model_dump(exclude_unset=True))


@router.delete("/kb/categories/{int:category_id}", response={204: None}, summary="Delete an empty category")
def category_delete(request: HttpRequest, category_id: int):
    services.category_delete(actor=request.auth, category=_category(category_id), token_scope=_scope(request))
    return None


@router.post("/kb/sections", response={201: SectionOut}, summary="Create a section in a category")
def section_create(request: HttpRequest, payload: SectionIn):
    return services.section_create(actor=request.auth, token_scope=_scope(request), **payload.model_dump())


@router.delete("/kb/sections/{int:section_id}", response={204: None}, summary="Delete an empty section")
def section_delete(request: HttpRequest, section_id: int):
    section = Section.objects.filter(pk=section_id).first()
    if section is None:
        raise NotFound("The section does not exist.", fields={"section_id": "unknown section"})
    services.section_delete(actor=request.auth, section=section, token_scope=_scope(request))
    return None


@router.get("/kb/articles", response=list[ArticleBriefOut], summary="Articles, newest change first")
def article_list(request: HttpRequest, status: str | None = None, locale: str | None = None,
                 section_id: int | None = None, tag: str | None = None, internal: bool | None = None):
    return list(selectors.article_list_for(actor=request.auth, status=status, locale=locale, section_id=section_id,
                                           tag=tag, internal=internal, token_scope=_scope(request))[:MAX_LIST])


@router.get("/kb/search", response=list[HitOut], summary="Search articles (agents: drafts and internal ones too)")
def article_search(request: HttpRequest, q: str, locale: str | None = None, category_id: int | None = None,
                   published_only: bool = False, limit: int = Query(10, ge=1, le=50)):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    if not q.strip():
        raise ValidationFailed("Type a word to search for.", fields={"q": "at least one letter or digit"})
    if category_id is not None and not Category.objects.filter(pk=category_id).exists():
        raise ValidationFailed("There is no such category.", fields={"category_id": "unknown category"})
    hits = selectors.article_search(query=q, locale=locale, category_id=category_id, include_internal=True,
                                    include_unpublished=not published_only, limit=limit)
    return [{"id": h.article.pk, "title": h.article.title, "locale": h.article.locale, "status": h.article.status,
             "is_internal": h.article.is_internal, "score": h.score, "snippet": h.snippet} for h in hits]


@router.post("/kb/articles", response={201: ArticleOut}, summary="Create an article (a draft unless status says)")
def article_create(request: HttpRequest, payload: ArticleIn):
    data = payload.model_dump()
    created = services.article_create(actor=request.auth, token_scope=_scope(request), **data)
    return _article(request, created.pk)


@router.get("/kb/articles/{int:article_id}", response=ArticleOut, summary="One article")
def article_get(request: HttpRequest, article_id: int):
    return _article(request, article_id)


@router.patch("/kb/articles/{int:article_id}", response=ArticleOut,
              summary="Change an article; a new title or body makes a new version")
def article_patch(request: HttpRequest, article_id: int, payload: ArticlePatchIn):
    values = payload.model_dump(exclude_unset=True)
    note = values.pop("note", "")
    services.article_update(actor=request.auth, article=_article(request, article_id), values=values, note=note,
                            token_scope=_scope(request))
    return _article(request, article_id)


@router.delete("/kb/articles/{int:article_id}", response={204: None},
               summary="Delete a draft or archived article")
def article_delete(request: HttpRequest, article_id: int):
    services.article_delete(actor=request.auth, article=_article(request, article_id), token_scope=_scope(request))
    return None


@router.post("/kb/articles/{int:article_id}/publish", response=ArticleOut, summary="Publish")
def article_publish(request: HttpRequest, article_id: int):
    services.article_set_status(actor=request.auth, article=_article(request, article_id), status="published",
                                token_scope=_scope(request))
    return _article(request, article_id)


@router.post("/kb/articles/{int:article_id}/status", response=ArticleOut,
             summary="Set the status: draft, published or archived")
def article_status(request: HttpRequest, article_id: int, payload: StatusIn):
    services.article_set_status(actor=request.auth, article=_article(request, article_id), status=payload.status,
                                token_scope=_scope(request))
    return _article(request, article_id)


@router.get("/kb/articles/{int:article_id}/versions", response=list[VersionOut], summary="Version history")
def version_list(request: HttpRequest, article_id: int):
    return list(selectors.article_versions(article=_article(request, article_id)))


@router.get("/kb/articles/{int:article_id}/versions/{int:number}/diff", response=DiffOut,
            summary="Line diff from a version to the current content")
def version_diff(request: HttpRequest, article_id: int, number: int):
    article = _article(request, article_id)
    version = selectors.version_get(article=article, number=number)
    lines = selectors.version_diff(old=version, new_title=article.title, new_body=article.body_markdown)
    return {"from_version": number, "to_version": article.version,
            "lines": [{"kind": line.kind, "text": line.text} for line in lines]}


@router.post("/kb/articles/{int:article_id}/versions/{int:number}/restore", response=ArticleOut,
             summary="Restore a version's title and body as a new version")
def version_restore(request: HttpRequest, article_id: int, number: int):
    services.article_restore(actor=request.auth, article=_article(request, article_id), number=number,
                             token_scope=_scope(request))
    return _article(request, article_id)


@router.post("/kb/articles/{int:article_id}/translations", response={201: ArticleOut},
             summary="Add a locale variant (a draft)")
def translation_create(request: HttpRequest, article_id: int, payload: TranslationIn):
    variant = services.article_translation_create(actor=request.auth, article=_article(request, article_id),
                                                  token_scope=_scope(request), **payload.model_dump())
    return _article(request, variant.pk)


@router.get("/kb/articles/{int:article_id}/translations", response=list[ArticleBriefOut],
            summary="All locale variants of the article")
def translation_list(request: HttpRequest, article_id: int):
    return selectors.article_variants(article=_article(request, article_id))


@router.post("/kb/articles/{int:article_id}/attachments", response={201: AttachmentOut},
             summary="Upload an image or file (multipart field `file`)")
def attachment_upload(request: HttpRequest, article_id: int, file: UploadedFile = File(...)):  # noqa: B008 - ninja idiom
    return services.article_attachment_add(actor=request.auth, article=_article(request, article_id),
                                                upload=file, token_scope=_scope(request))


@router.delete("/kb/attachments/{int:attachment_id}", response={204: None}, summary="Delete an attachment")
def attachment_delete(request: HttpRequest, attachment_id: int):
    attachment = ArticleAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("The attachment does not exist.", fields={"attachment_id": "unknown attachment"})
    services.article_attachment_delete(actor=request.auth, attachment=attachment, token_scope=_scope(request))
    return None


@router.get("/kb/report", summary="Self-service figures: deflections, searches (with and without results), feedback")
def report(request: HttpRequest, days: int = Query(30, ge=1, le=365)):
    figures = selectors.kb_report(actor=request.auth, days=days, token_scope=_scope(request))
    return {
        "days": figures["days"],
        "suggestion_opens": figures["suggestion_opens"],
        "deflections": figures["deflections"],
        "submitted_anyway": figures["submitted_anyway"],
        "pending": figures["pending"],
        "deflection_rate": figures["deflection_rate"],
        "deflections_by_article": [{"article_id": r["article_id"], "title": r["article__title"], "count": r["n"]}
                                   for r in figures["deflections_by_article"]],
        "searches": figures["searches"],
        "searches_without_results": figures["searches_without_results"],
        "no_result_queries": [{"query": r["query"], "count": r["n"]} for r in figures["no_result_queries"]],
        "top_queries": [{"query": r["query"], "count": r["n"]} for r in figures["top_queries"]],
        "feedback": figures["feedback"],
        "helpful": figures["helpful"],
        "helpful_rate": figures["helpful_rate"],
    }
