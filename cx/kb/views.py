"""The knowledge base's agent pages: article list and editor (preview, status, versions with diff and
restore, locale variants, attachments), categories and sections, reports, help-center branding, and the
composer tools (article-link picker, "save the answer as a draft article")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cx.core.errors import DomainError, NotFound, ValidationFailed
from cx.core.views import render_domain_error
from cx.kb import selectors, services
from cx.kb.forms import (
    ArticleFilterForm,
    ArticleForm,
    CategoryForm,
    HelpCenterSettingsForm,
    SectionForm,
    TranslationForm,
)
from cx.kb.markdown import markdown_render
from cx.kb.models import ArticleAttachment, Category, Section
from cx.tickets.selectors import ticket_get_for, ticket_messages


def _form_errors(form, exc: DomainError) -> None:
    form.add_error(None, exc.message)
    for field, reason in exc.fields.items():
        form.add_error(field if field in form.fields else None, reason)


@login_required
@require_GET
def articles(request: HttpRequest) -> HttpResponse:
    form = ArticleFilterForm(request.GET)
    rows: list[Any] = []
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["q"]:
                hits = selectors.article_search(query=data["q"], locale=data["locale"] or None, include_internal=True,
                                                include_unpublished=True, limit=50)
                rows = [h.article for h in hits if not data["status"] or h.article.status == data["status"]]
            else:
                rows = list(selectors.article_list_for(actor=request.user, status=data["status"] or None,
                                                       locale=data["locale"] or None)[:200])
        except DomainError as exc:
            error = exc
    template = "kb/partials/article_rows.html" if request.htmx and request.htmx.target == "article-rows" \
        else "kb/articles.html"
    return render(request, template, {"form": form, "rows": rows, "error": error,
                                      "can_write": request.user.can_write, "has_sections": Section.objects.exists()})


def _article_form_context(request: HttpRequest, article, form) -> dict[str, Any]:
    return {
        "article": article, "form": form, "can_write": request.user.can_write,
        "versions": selectors.article_versions(article=article)[:50],
        "variants": selectors.article_variants(article=article),
        "translation_form": TranslationForm(),
        "public_path": selectors.article_url_path(article),
        "attachments": list(article.attachments.all()),
    }


@login_required
def article_new(request: HttpRequest) -> HttpResponse:
    sections = selectors.section_choices()
    if not sections:
        messages.info(request, "Create a category and a section first: every article lives in a section.")
        return redirect("kb:categories")
    if request.method == "POST":
        form = ArticleForm(request.POST, sections=sections)
        if form.is_valid():
            data = form.cleaned_data
            try:
                article = services.article_create(actor=request.user, section_id=data["section_id"],
                                                  title=data["title"], body_markdown=data["body_markdown"],
                                                  locale=data["locale"], slug=data["slug"], tags=data["tags"],
                                                  is_internal=data["is_internal"])
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Draft saved.")
                return redirect("kb:article", article.pk)
        return render(request, "kb/article_new.html", {"form": form}, status=422)
    form = ArticleForm(sections=sections, initial={"locale": services.help_center_settings().default_locale})
    return render(request, "kb/article_new.html", {"form": form})


@login_required
def article(request: HttpRequest, article_id: int) -> HttpResponse:
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    sections = selectors.section_choices()
    if request.method == "POST":
        form = ArticleForm(request.POST, sections=sections, editing=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.article_update(actor=request.user, article=found, note=data["note"], values={
                    "title": data["title"], "body_markdown": data["body_markdown"], "slug": data["slug"],
                    "section_id": data["section_id"], "tags": data["tags"], "is_internal": data["is_internal"]})
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Article saved.")
                return redirect("kb:article", found.pk)
        return render(request, "kb/article.html", _article_form_context(request, found, form), status=422)
    form = ArticleForm(sections=sections, editing=True, initial={
        "title": found.title, "section_id": found.section_id, "slug": found.slug, "body_markdown": found.body_markdown,
        "tags": ", ".join(t.name for t in found.tags.all()), "is_internal": found.is_internal})
    return render(request, "kb/article.html", _article_form_context(request, found, form))


@login_required
@require_POST
def article_preview(request: HttpRequest) -> HttpResponse:
    body = request.POST.get("body_markdown", "")
    if len(body) > services.MAX_BODY:
        return HttpResponse("The article is too long to preview.", status=422)
    return render(request, "kb/partials/preview.html", {"html": markdown_render(body)})


@login_required
@require_POST
def article_status(request: HttpRequest, article_id: int) -> HttpResponse:
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
        services.article_set_status(actor=request.user, article=found, status=request.POST.get("status", ""))
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    found.refresh_from_db(fields=["status"])
    messages.success(request, f"The article is now {found.get_status_display().lower()}.")
    return redirect("kb:article", article_id)


@login_required
@require_POST
def article_delete(request: HttpRequest, article_id: int) -> HttpResponse:
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
        services.article_delete(actor=request.user, article=found)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, "Article deleted.")
    return redirect("kb:articles")


@login_required
@require_GET
def article_version(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
        version = selectors.version_get(article=found, number=number)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    diff = selectors.version_diff(old=version, new_title=found.title, new_body=found.body_markdown)
    return render(request, "kb/version.html", {"article": found, "version": version, "diff": diff,
                                               "html": markdown_render(version.body_markdown),
                                               "can_write": request.user.can_write})


@login_required
@require_POST
def article_restore(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
        updated = services.article_restore(actor=request.user, article=found, number=number)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, f"Version {number} restored as version {updated.version}.")
    return redirect("kb:article", article_id)


@login_required
@require_POST
def article_translate(request: HttpRequest, article_id: int) -> HttpResponse:
    form = TranslationForm(request.POST)
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
        if not form.is_valid():
            raise ValidationFailed("Give a locale and a title.",
                                   fields={k: "; ".join(v) for k, v in form.errors.items()})
        variant = services.article_translation_create(actor=request.user, article=found,
                                                      locale=form.cleaned_data["locale"],
                                                      title=form.cleaned_data["title"],
                                                      body_markdown=found.body_markdown)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, f"{variant.locale} variant created as a draft (with the original text to translate).")
    return redirect("kb:article", variant.pk)


@login_required
@require_POST
def attachment_upload(request: HttpRequest, article_id: int) -> HttpResponse:
    try:
        found = selectors.article_get_for(actor=request.user, article_id=article_id)
        attachment = services.article_attachment_add(actor=request.user, article=found,
                                                     upload=request.FILES.get("file"))
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, f"{attachment.filename} uploaded. Use the Markdown shown next to it in the body.")
    return redirect("kb:article", article_id)


@login_required
@require_POST
def attachment_delete(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = ArticleAttachment.objects.filter(pk=attachment_id).first()
    try:
        if attachment is None:
            raise NotFound("The attachment does not exist.")
        services.article_attachment_delete(actor=request.user, attachment=attachment)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, "Attachment deleted.")
    return redirect("kb:article", attachment.article_id)


def attachment_file(request: HttpRequest, attachment_id: int, filename: str) -> HttpResponse:
    """An article's file: anyone for a public article; signed-in agents for drafts and internal ones."""
    attachment = ArticleAttachment.objects.select_related("article").filter(pk=attachment_id, filename=filename).first()
    agent = request.user.is_authenticated and request.user.is_active
    if attachment is None or not (attachment.article.is_public or agent):
        return render(request, "kb/help/not_found.html", {"brand": services.help_center_settings()}, status=404)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type,
                            as_attachment=not attachment.is_image, filename=attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


# --- categories and sections -----------------------------------------------------------------------------

def _category_choices() -> list[tuple[int, str]]:
    return list(Category.objects.values_list("pk", "name"))


@login_required
def categories(request: HttpRequest) -> HttpResponse:
    category_form = CategoryForm(prefix="category")
    section_form = SectionForm(prefix="section", categories=_category_choices())
    status = 200
    if request.method == "POST":
        try:
            if "category-name" in request.POST:
                category_form = CategoryForm(request.POST, prefix="category")
                if category_form.is_valid():
                    services.category_create(actor=request.user, **category_form.cleaned_data)
                    messages.success(request, "Category created.")
                    return redirect("kb:categories")
            else:
                section_form = SectionForm(request.POST, prefix="section", categories=_category_choices())
                if section_form.is_valid():
                    services.section_create(actor=request.user, **section_form.cleaned_data)
                    messages.success(request, "Section created.")
                    return redirect("kb:categories")
        except DomainError as exc:
            _form_errors(category_form if "category-name" in request.POST else section_form, exc)
        status = 422
    return render(request, "kb/categories.html", {
        "tree": selectors.category_tree(), "category_form": category_form, "section_form": section_form,
        "can_write": request.user.can_write}, status=status)


@login_required
@require_POST
def category_delete(request: HttpRequest, category_id: int) -> HttpResponse:
    category = Category.objects.filter(pk=category_id).first()
    try:
        if category is None:
            raise NotFound("The category does not exist.")
        services.category_delete(actor=request.user, category=category)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, "Category deleted.")
    return redirect("kb:categories")


@login_required
@require_POST
def section_delete(request: HttpRequest, section_id: int) -> HttpResponse:
    section = Section.objects.filter(pk=section_id).first()
    try:
        if section is None:
            raise NotFound("The section does not exist.")
        services.section_delete(actor=request.user, section=section)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, "Section deleted.")
    return redirect("kb:categories")


# --- reports and branding ---------------------------------------------------------------------------------

@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    try:
        days = min(365, max(1, int(request.GET.get("days", "30"))))
    except ValueError:
        days = 30
    try:
        figures = selectors.kb_report(actor=request.user, days=days)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    return render(request, "kb/report.html", {"r": figures})


@login_required
def help_center_settings(request: HttpRequest) -> HttpResponse:
    current = services.help_center_settings()
    if not request.user.is_cx_admin:
        return render_domain_error(request, NotFound("Only admins can change the help center's brand."), app="kb")
    if request.method == "POST":
        form = HelpCenterSettingsForm(request.POST, request.FILES)
        if form.is_valid():
            data = dict(form.cleaned_data)
            logo = data.pop("logo")
            try:
                services.help_center_settings_update(actor=request.user, values=data, logo=logo)
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Help center settings saved.")
                return redirect("kb:settings")
        return render(request, "kb/settings.html", {"form": form, "brand": current}, status=422)
    form = HelpCenterSettingsForm(initial={f: getattr(current, f) for f in (
        "name", "tagline", "primary_color", "accent_color", "default_locale", "locales")})
    return render(request, "kb/settings.html", {"form": form, "brand": current})


# --- composer tools -------------------------------------------------------------------------------------

@login_required
@require_GET
def picker(request: HttpRequest) -> HttpResponse:
    """Published public articles matching ``q``, each with the Markdown link to insert into a reply."""
    query = request.GET.get("q", "")
    try:
        hits = selectors.article_search(query=query, limit=8)
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status)
    base = settings.CXDESK_BASE_URL
    rows = [{"article": h.article, "url": f"{base}{selectors.article_url_path(h.article)}"} for h in hits]
    return render(request, "kb/partials/picker_results.html", {"rows": rows, "query": query})


@login_required
@require_POST
def from_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Turn a ticket's answer (its latest public agent reply) into a draft article."""
    try:
        ticket = ticket_get_for(actor=request.user, ticket_id=ticket_id)
        public = list(ticket_messages(ticket=ticket, include_internal=False))
        question = next((m.body_text for m in public if m.author_type == "customer"), "")
        answer = next((m.body_text for m in reversed(public) if m.author_type == "agent"), "")
        article = services.article_from_ticket_answer(actor=request.user, section_id=request.POST.get("section_id"),
                                                      title=ticket.subject, question=question, answer=answer,
                                                      ticket_id=ticket.pk)
    except DomainError as exc:
        return render_domain_error(request, exc, app="kb")
    messages.success(request, f"Draft article created from ticket #{ticket_id}. Edit and publish it when ready.")
    return redirect("kb:article", article.pk)
