"""Webhooks in the Django admin: endpoints (created through the service; the secret is shown once) and
the delivery log with filters and a "redeliver" action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from cx.core.admin import CxAdminAccess
from cx.core.errors import DomainError
from cx.webhooks.models import SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookEndpoint, WebhookEvent
from cx.webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_ping,
    webhook_redeliver,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https",
                         help_text="Receives a signed POST for each subscribed event (http:// or https://).")
    event_types = forms.MultipleChoiceField(
        label="Events", widget=forms.CheckboxSelectMultiple,
        choices=[(e, f"{e}: {WebhookEvent(e).label}") for e in SUBSCRIBABLE_EVENTS])

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types", "is_active")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Use an http:// or https:// URL.")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(CxAdminAccess, admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("id", "url", "description", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    actions = ("send_test", "activate", "deactivate")

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            issued = webhook_endpoint_create(actor=request.user, url=data["url"], event_types=data["event_types"],
                                             description=data.get("description", ""))
            obj.pk = issued.endpoint.pk
            obj.secret = issued.secret
            obj.created_at, obj.updated_at = issued.endpoint.created_at, issued.endpoint.updated_at
            obj._state.adding = False
            if not data.get("is_active", True):
                webhook_endpoint_update(actor=request.user, endpoint=obj, values={"is_active": False})
            obj._issued_secret = issued.secret
            return
        values = {name: data[name] for name in form.changed_data if name in data}
        webhook_endpoint_update(actor=request.user, endpoint=obj, values=values)

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue=None) -> HttpResponse:
        # The secret is rendered once, straight into this response: never stored in a message or cookie.
        context = {**self.admin_site.each_context(request), "endpoint": obj, "secret": obj._issued_secret,
                   "opts": self.model._meta, "title": "Webhook created"}
        return TemplateResponse(request, "admin/webhooks/secret_once.html", context)

    def get_deleted_objects(self, objs, request: HttpRequest):
        # The delivery log goes with its endpoint; nobody deletes log rows one by one, so their (absent)
        # delete permission must not block deleting the endpoint.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(WebhookDelivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(actor=request.user, endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_delete(actor=request.user, endpoint=endpoint)

    @admin.action(description="Send a test delivery (ping)")
    def send_test(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_ping(actor=request.user, endpoint=endpoint)
        messages.success(request, f"Queued {queryset.count()} test deliveries; see the delivery log.")

    @admin.action(description="Activate")
    def activate(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_update(actor=request.user, endpoint=endpoint, values={"is_active": True})

    @admin.action(description="Deactivate (stop sending)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_update(actor=request.user, endpoint=endpoint, values={"is_active": False})


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(CxAdminAccess, admin.ModelAdmin):
    """The delivery log: every event sent to every endpoint, with the outcome of its latest attempt."""

    allow_add = allow_change = allow_delete = False
    list_display = ("id", "created_at", "endpoint", "event_type", "status", "attempt_count", "response_code",
                    "next_attempt_at", "last_error")
    list_filter = ("status", "event_type", "endpoint")
    search_fields = ("=event_id", "endpoint__url")
    date_hierarchy = "created_at"
    list_select_related = ("endpoint",)
    fields = ("endpoint", "event_id", "event_type", "status", "attempt_count", "created_at", "last_attempt_at",
              "next_attempt_at", "completed_at", "response_code", "duration_ms", "response_body", "last_error",
              "redelivery_of", "payload")
    readonly_fields = fields
    actions = ("redeliver",)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Redeliver (send the same event again)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                webhook_redeliver(actor=request.user, delivery=delivery)
            except DomainError as exc:
                messages.error(request, f"Delivery {delivery.pk}: {exc.message}")
                continue
            count += 1
        messages.success(request, f"Queued {count} redeliver{'y' if count == 1 else 'ies'}.")
