"""The public help center (no login): home per locale, categories, articles with "was this helpful?",
search with instant suggestions, the logo, attachments and sitemap.xml.

Readers signed in to the customer portal are known customers: their views, searches and feedback become
touchpoints. Everyone else only moves counters (article views, helpful votes, the search log).
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from cx.core.errors import DomainError, NotFound
from cx.kb import selectors, services
from cx.kb.forms import FeedbackForm
from cx.kb.models import ArticleFeedback, HelpCenterSettings, SearchSource

FEEDBACK_SESSION_KEY = "cx.kb.feedback_ids"
SUGGESTION_LIMIT = 6


def _brand() -> HelpCenterSettings:
    return services.help_center_settings()


def _locale_or_404(brand: HelpCenterSettings, locale: str) -> str:
    if locale not in brand.locale_list:
        raise Http404("This help center is not offered in that language.")
    return locale


def _context(request: HttpRequest, brand: HelpCenterSettings, locale: str, **extra) -> dict:
    return {"brand": brand, "locale": locale, "locales": brand.locale_list,
            "portal_customer": selectors.session_customer(request.session), **extra}


def _not_found(request: HttpRequest, brand: HelpCenterSettings, locale: str) -> HttpResponse:
    return render(request, "kb/help/not_found.html", _context(request, brand, locale), status=404)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("help:locale_home", locale=_brand().default_locale)


@require_GET
def locale_home(request: HttpRequest, locale: str) -> HttpResponse:
    brand = _brand()
    _locale_or_404(brand, locale)
    return render(request, "kb/help/home.html", _context(
        request, brand, locale, categories=selectors.public_categories(locale=locale)))


@require_GET
def category(request: HttpRequest, locale: str, category_slug: str) -> HttpResponse:
    brand = _brand()
    _locale_or_404(brand, locale)
    try:
        found = selectors.public_category_get(locale=locale, category_slug=category_slug)
    except NotFound:
        return _not_found(request, brand, locale)
    return render(request, "kb/help/category.html", _context(request, brand, locale, category=found))


@require_GET
def article(request: HttpRequest, locale: str, category_slug: str, article_slug: str) -> HttpResponse:
    brand = _brand()
    _locale_or_404(brand, locale)
    try:
        found = selectors.public_article_get(locale=locale, category_slug=category_slug, article_slug=article_slug)
    except NotFound:
        return _not_found(request, brand, locale)
    services.article_view_record(article=found, customer=selectors.session_customer(request.session))
    return render(request, "kb/help/article.html", _context(
        request, brand, locale, article=found, feedback_form=FeedbackForm(),
        variants=selectors.public_article_variants(article=found),
        voted=found.pk in _voted(request)))


def _voted(request: HttpRequest) -> dict[int, int]:
    """Article id -> feedback id of this browser's votes (so the comment can follow the vote)."""
    stored = request.session.get(FEEDBACK_SESSION_KEY) or {}
    return {int(k): v for k, v in stored.items() if str(k).isdigit()}


@require_POST
def feedback(request: HttpRequest, locale: str, category_slug: str, article_slug: str) -> HttpResponse:
    brand = _brand()
    _locale_or_404(brand, locale)
    try:
        found = selectors.public_article_get(locale=locale, category_slug=category_slug, article_slug=article_slug)
    except NotFound:
        return _not_found(request, brand, locale)
    form = FeedbackForm(request.POST)
    context = _context(request, brand, locale, article=found, feedback_form=form)
    if not form.is_valid():
        status = 422
        return render(request, "kb/help/partials/feedback.html", context, status=status)
    try:
        given = services.article_feedback_record(article=found, helpful=form.cleaned_data["helpful"],
                                                 comment=form.cleaned_data["comment"],
                                                 customer=selectors.session_customer(request.session))
    except DomainError as exc:
        form.add_error(None, exc.message)
        return render(request, "kb/help/partials/feedback.html", context, status=exc.status)
    votes = {str(k): v for k, v in _voted(request).items()}
    votes[str(found.pk)] = given.pk
    request.session[FEEDBACK_SESSION_KEY] = dict(list(votes.items())[-50:])
    context.update(given=given, voted=True)
    if request.htmx:
        return render(request, "kb/help/partials/feedback.html", context)
    return redirect(request.path.rsplit("feedback/", 1)[0] + "#feedback")


@require_POST
def feedback_comment(request: HttpRequest, locale: str, category_slug: str, article_slug: str) -> HttpResponse:
    brand = _brand()
    _locale_or_404(brand, locale)
    try:
        found = selectors.public_article_get(locale=locale, category_slug=category_slug, article_slug=article_slug)
    except NotFound:
        return _not_found(request, brand, locale)
    given = ArticleFeedback.objects.filter(pk=_voted(request).get(found.pk), article=found).first()
    context = _context(request, brand, locale, article=found, given=given, voted=True, feedback_form=FeedbackForm())
    if given is None:
        context["comment_error"] = "Vote first, then add a comment."
        return render(request, "kb/help/partials/feedback.html", context, status=422)
    try:
        services.article_feedback_comment(feedback=given, comment=request.POST.get("comment", ""))
    except DomainError as exc:
        context["comment_error"] = "; ".join(exc.fields.values()) or exc.message
        return render(request, "kb/help/partials/feedback.html", context, status=exc.status)
    context["commented"] = True
    if request.htmx:
        return render(request, "kb/help/partials/feedback.html", context)
    return redirect(request.path.rsplit("feedback/", 1)[0] + "#feedback")


@require_GET
def search(request: HttpRequest, locale: str) -> HttpResponse:
    brand = _brand()
    _locale_or_404(brand, locale)
    query = request.GET.get("q", "")
    context = _context(request, brand, locale, query=query, hits=[], error=None)
    try:
        scope = selectors.public_search_category(request.GET.get("category"))
        context["search_category"] = scope
        hits = selectors.article_search(query=query, locale=locale, category_id=scope.pk if scope else None,
                                        limit=20)
    except DomainError as exc:
        context["error"] = (exc.fields.get("q") and f"{exc.message} ({exc.fields['q']})") or exc.message
        return render(request, "kb/help/search.html", context, status=exc.status)
    if not query.strip() or (not hits and not any(ch.isalnum() for ch in query)):
        context["error"] = "Type a word to search for."
        return render(request, "kb/help/search.html", context, status=422 if query else 200)
    services.search_log_record(query=" ".join(query.split()), locale=locale, source=SearchSource.HELP_CENTER,
                               result_count=len(hits), customer=selectors.session_customer(request.session))
    context["hits"] = hits
    return render(request, "kb/help/search.html", context)


@require_GET
def suggest(request: HttpRequest, locale: str) -> HttpResponse:
    """Instant suggestions while typing (not logged: only submitted searches count as searches)."""
    brand = _brand()
    _locale_or_404(brand, locale)
    query = request.GET.get("q", "")
    try:
        scope = selectors.public_search_category(request.GET.get("category"))
        hits = selectors.article_search(query=query, locale=locale, category_id=scope.pk if scope else None,
                                        limit=SUGGESTION_LIMIT)
    except DomainError as exc:
        return render(request, "kb/help/partials/suggestions.html", {"error": exc.message, "query": query})
    response = render(request, "kb/help/partials/suggestions.html", {"hits": hits, "query": query, "locale": locale})
    patch_cache_control(response, private=True, max_age=30)
    return response


@require_GET
def logo(request: HttpRequest) -> HttpResponse:
    brand = _brand()
    if not brand.logo:
        raise Http404("No logo.")
    response = FileResponse(brand.logo.open("rb"))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    base = settings.CXDESK_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    brand = _brand()
    urls = [(f"{base}{reverse('help:locale_home', args=[locale])}", None) for locale in brand.locale_list]
    for found in selectors.sitemap_articles(locales=brand.locale_list):
        urls.append((f"{base}{selectors.article_url_path(found)}", found.updated_at))
    response = render(request, "kb/help/sitemap.xml", {"urls": urls}, content_type="application/xml")
    patch_cache_control(response, public=True, max_age=600)
    return response
