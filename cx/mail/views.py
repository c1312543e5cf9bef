"""Email channel pages: mailboxes and routing rules (admins), the quarantine, the original of a received
message (agents who may see its ticket), inline images and raw downloads, and provider inbound webhooks."""

from __future__ import annotations

import json

from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.core.errors import DomainError, NotFound
from cx.core.views import render_domain_error
from cx.mail import selectors, services
from cx.mail.forms import MailboxForm, RoutingRuleForm
from cx.mail.models import InboundStatus
from cx.mail.sns import SnsSignatureError, verify_sns_message

# Raster images render inline; everything else (SVG, HTML, PDFs...) is only ever downloaded.
INLINE_SAFE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="mail")


def _apply_form_errors(form, error: DomainError) -> None:
    for name, reason in (getattr(error, "fields", None) or {}).items():
        form.add_error(name if name in form.fields else None, reason)
    if not getattr(error, "fields", None):
        form.add_error(None, error.message)


@login_required
@require_GET
def mailbox_list(request: HttpRequest) -> HttpResponse:
    try:
        mailboxes = list(selectors.mailbox_list(actor=request.user))
        quarantined = selectors.inbound_list(actor=request.user).count()
        bouncing = list(selectors.bouncing_list(actor=request.user)[:100])
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "mail/mailbox_list.html", {"mailboxes": mailboxes, "quarantined": quarantined,
                                                      "bouncing": bouncing,
                                                      "smtp_port": settings.CXDESK_SMTP_LISTEN_PORT})


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_create(request: HttpRequest) -> HttpResponse:
    try:
        selectors.mailbox_list(actor=request.user)
    except DomainError as error:
        return _error_page(request, error)
    form = MailboxForm(request.POST or None, initial={"is_active": True, "imap_ssl": True, "imap_port": 993})
    if request.method == "POST" and form.is_valid():
        try:
            mailbox = services.mailbox_create(actor=request.user, values=form.values())
        except DomainError as error:
            _apply_form_errors(form, error)
        else:
            return redirect("mail:mailbox_edit", mailbox_id=mailbox.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "mail/mailbox_form.html", {"form": form, "mailbox": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    try:
        mailbox = selectors.mailbox_get(actor=request.user, mailbox_id=mailbox_id)
    except DomainError as error:
        return _error_page(request, error)
    initial = {f: getattr(mailbox, f) for f in MailboxForm.base_fields if f not in {"team_id", "imap_password"}}
    initial["team_id"] = mailbox.team_id
    form = MailboxForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.mailbox_update(actor=request.user, mailbox=mailbox, values=form.values())
        except DomainError as error:
            _apply_form_errors(form, error)
        else:
            return redirect("mail:mailbox_edit", mailbox_id=mailbox.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "mail/mailbox_form.html", {"form": form, "mailbox": mailbox,
                                                      "rules": mailbox.rules.select_related("team"),
                                                      "rule_form": RoutingRuleForm()}, status=status)


@login_required
@require_POST
def mailbox_delete(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    try:
        mailbox = selectors.mailbox_get(actor=request.user, mailbox_id=mailbox_id)
        services.mailbox_delete(actor=request.user, mailbox=mailbox)
    except DomainError as error:
        return _error_page(request, error)
    return redirect("mail:mailboxes")


@login_required
@require_POST
def rule_create(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    try:
        mailbox = selectors.mailbox_get(actor=request.user, mailbox_id=mailbox_id)
    except DomainError as error:
        return _error_page(request, error)
    form = RoutingRuleForm(request.POST)
    if form.is_valid():
        values = dict(form.cleaned_data)
        values["keywords"] = [k for k in values["keywords"].split(",") if k.strip()]
        values["tags"] = [t for t in values["tags"].split(",") if t.strip()]
        try:
            services.routing_rule_create(actor=request.user, mailbox=mailbox, values=values)
        except DomainError as error:
            _apply_form_errors(form, error)
        else:
            return redirect("mail:mailbox_edit", mailbox_id=mailbox.pk)
    mailbox_form = MailboxForm(initial={f: getattr(mailbox, f) for f in MailboxForm.base_fields
                                        if f not in {"team_id", "imap_password"}})
    return render(request, "mail/mailbox_form.html", {"form": mailbox_form, "mailbox": mailbox,
                                                      "rules": mailbox.rules.select_related("team"),
                                                      "rule_form": form}, status=422)


@login_required
@require_POST
def rule_delete(request: HttpRequest, mailbox_id: int, rule_id: int) -> HttpResponse:
    try:
        mailbox = selectors.mailbox_get(actor=request.user, mailbox_id=mailbox_id)
        rule = selectors.routing_rule_get(actor=request.user, mailbox=mailbox, rule_id=rule_id)
        services.routing_rule_delete(actor=request.user, rule=rule)
    except DomainError as error:
        return _error_page(request, error)
    return redirect("mail:mailbox_edit", mailbox_id=mailbox.pk)


@login_required
@require_GET
def inbound_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", InboundStatus.QUARANTINED)
    if status not in InboundStatus.values and status != "":
        status = InboundStatus.QUARANTINED
    try:
        rows = list(selectors.inbound_list(actor=request.user, status=status)[:200])
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "mail/inbound_list.html", {"rows": rows, "status": status,
                                                      "statuses": InboundStatus.choices})


@login_required
@require_POST
def inbound_release(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        inbound = selectors.inbound_get(actor=request.user, inbound_id=inbound_id)
        result = services.inbound_email_release(actor=request.user, inbound=inbound)
    except DomainError as error:
        return _error_page(request, error)
    if result.ticket_id:
        return redirect("tickets:detail", ticket_id=result.ticket_id)
    return redirect("mail:inbound")


@login_required
@require_POST
def bouncing_clear(request: HttpRequest, address_id: int) -> HttpResponse:
    try:
        services.bouncing_address_clear(actor=request.user, address_id=address_id)
    except DomainError as error:
        return _error_page(request, error)
    return redirect("mail:mailboxes")


@login_required
@require_GET
def inbound_detail(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        inbound = selectors.inbound_get(actor=request.user, inbound_id=inbound_id)
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "mail/inbound_detail.html", {"inbound": inbound})


@login_required
@require_GET
def message_original(request: HttpRequest, message_id: int) -> HttpResponse:
    """The whole received email behind a ticket message (quoted history, signature, full HTML)."""
    try:
        inbound = selectors.inbound_for_message(actor=request.user, message_id=message_id)
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "mail/inbound_detail.html", {"inbound": inbound})


@login_required
@require_GET
def inbound_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        inbound = selectors.inbound_get(actor=request.user, inbound_id=inbound_id)
        if not inbound.raw:
            raise NotFound("The raw message was not kept.")
        handle = inbound.raw.open("rb")
    except DomainError as error:
        return _error_page(request, error)
    except (FileNotFoundError, ValueError):
        return _error_page(request, NotFound("The stored message is missing."))
    return FileResponse(handle, as_attachment=True, filename=f"message-{inbound.pk}.eml",
                        content_type="message/rfc822")


@login_required
@require_GET
def inline_image(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """An inline image of an email, for agents who may see the ticket; anything not a raster image is sent
    as a download so it can never run in the page's origin."""
    try:
        attachment = selectors.inline_attachment_get(actor=request.user, attachment_id=attachment_id)
        handle = attachment.file.open("rb")
    except DomainError as error:
        return _error_page(request, error)
    except (FileNotFoundError, ValueError):
        return _error_page(request, NotFound("The attachment's file is missing."))
    content_type = (attachment.content_type or "").lower()
    inline = content_type in INLINE_SAFE_TYPES
    response = FileResponse(handle, as_attachment=not inline, filename=attachment.filename,
                            content_type=content_type if inline else "application/octet-stream")
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Provider inbound webhooks (django-anymail checks signatures / basic auth) -------------------------

_WEBHOOK_VIEWS = {
    "mailgun": MailgunInboundWebhookView.as_view(),
    "sendgrid": SendGridInboundWebhookView.as_view(),
    "postmark": PostmarkInboundWebhookView.as_view(),
    "amazon_ses": AmazonSESInboundWebhookView.as_view(),
}


@csrf_exempt
def provider_inbound(request: HttpRequest, provider: str) -> HttpResponse:
    view = _WEBHOOK_VIEWS.get(provider)
    if view is None:
        return JsonResponse({"error": {"code": "not_found", "message": f"Unknown provider {provider!r}.",
                                       "fields": {"provider": f"one of {', '.join(_WEBHOOK_VIEWS)}"}}}, status=404)
    anymail = getattr(settings, "ANYMAIL", {})
    configured = anymail.get("MAILGUN_WEBHOOK_SIGNING_KEY") if provider == "mailgun" else \
        anymail.get("WEBHOOK_SECRET")
    if not configured:
        # Anymail would accept unauthenticated posts with only a warning; cxdesk refuses them.
        return JsonResponse({"error": {"code": "not_configured", "message": "Inbound webhooks for this provider "
                             "are not configured on this server.", "fields": {}}}, status=403)
    if provider == "amazon_ses" and request.method == "POST":
        try:
            verify_sns_message(json.loads(request.body or b"{}"))
        except (ValueError, SnsSignatureError) as error:
            return JsonResponse({"error": {"code": "invalid_signature", "message": str(error),
                                           "fields": {"Signature": "invalid"}}}, status=400)
    return view(request)
