"""Django admin for SLA configuration (calendars with holidays, policies with targets) and read-only views
of tickets' SLA clocks and events. Forms validate with the same rules as the API; saving schedules the
recomputation of open tickets, like the services do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from cx.core.admin import CxAdminAccess
from cx.core.audit import audit_record
from cx.core.errors import DomainError
from cx.sla import services
from cx.sla.models import BusinessCalendarConfig, Holiday, SlaClock, SlaEvent, SlaPolicy, SlaTarget, TicketSla

_POLICY_FORM_FIELDS = ("name", "priorities", "organization_ids", "customer_segments", "channels",
                       "escalate_priority")


def _add_errors(form: forms.ModelForm, error: DomainError, field_map: dict[str, str] | None = None) -> None:
    placed = False
    for name, reason in error.fields.items():
        target = (field_map or {}).get(name, name).split(".")[0]
        if target in form.fields:
            form.add_error(target, f"{name}: {reason}" if "." in name else reason)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class BusinessCalendarForm(forms.ModelForm):
    class Meta:
        model = BusinessCalendarConfig
        fields = ("name", "time_zone", "weekly_hours")
        help_texts = {"weekly_hours": 'e.g. {"monday": [["09:00", "17:00"]], "saturday": []}; 24:00 = midnight'}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field, check in (("time_zone", services.clean_time_zone), ("weekly_hours", services.clean_weekly_hours)):
            if field in data:
                try:
                    data[field] = check(data[field])
                except DomainError as error:
                    _add_errors(self, error)
        return data


class HolidayInline(CxAdminAccess, admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendarConfig)
class BusinessCalendarAdmin(CxAdminAccess, admin.ModelAdmin):
    form = BusinessCalendarForm
    inlines = [HolidayInline]
    list_display = ("name", "time_zone", "updated_at")
    search_fields = ("name",)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        calendar = form.instance
        audit_record(actor=request.user, action="sla.calendar_updated" if change else "sla.calendar_created",
                     target_type="business_calendar", target_id=calendar.pk, data={"via": "admin"})
        services.sla_recompute_schedule(calendar_id=calendar.pk)

    def delete_model(self, request, obj) -> None:
        services.business_calendar_delete(actor=request.user, calendar=obj)


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = ("name", "description", "position", "is_active", "priorities", "organization_ids",
                  "customer_segments", "channels", "calendar", "pause_on_pending", "pause_on_hold",
                  "warn_before_minutes", "escalate_notify", "escalate_priority", "escalate_team", "escalate_assignee")
        help_texts = {
            "priorities": 'JSON list, e.g. ["high", "urgent"]; empty list = any',
            "organization_ids": "JSON list of organisation ids; empty list = any",
            "customer_segments": 'JSON list of tags, e.g. ["vip"]; empty list = any',
            "channels": 'JSON list, e.g. ["email", "chat"]; empty list = any',
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        values = {name: data[name] for name in _POLICY_FORM_FIELDS if name in data}
        for name in ("priorities", "organization_ids", "customer_segments", "channels"):
            if name in values and values[name] is None:
                values[name] = []
        values["escalate_team_id"] = data["escalate_team"].pk if data.get("escalate_team") else None
        values["escalate_assignee_id"] = data["escalate_assignee"].pk if data.get("escalate_assignee") else None
        try:
            cleaned = services.sla_policy_validate(values=values, policy=self.instance if self.instance.pk else None)
        except DomainError as error:
            _add_errors(self, error, {"escalate_team_id": "escalate_team", "escalate_assignee_id": "escalate_assignee"})
            return data
        for name in ("priorities", "organization_ids", "customer_segments", "channels", "name"):
            if name in cleaned:
                data[name] = cleaned[name]
        return data


class SlaTargetInline(CxAdminAccess, admin.TabularInline):
    model = SlaTarget
    extra = 3


@admin.register(SlaPolicy)
class SlaPolicyAdmin(CxAdminAccess, admin.ModelAdmin):
    form = SlaPolicyForm
    inlines = [SlaTargetInline]
    list_display = ("name", "position", "is_active", "calendar", "warn_before_minutes")
    list_editable = ()
    list_filter = ("is_active",)
    list_select_related = ("calendar",)
    search_fields = ("name",)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        policy = form.instance
        audit_record(actor=request.user, action="sla.policy_updated" if change else "sla.policy_created",
                     target_type="sla_policy", target_id=policy.pk, data={"via": "admin"})
        services.sla_recompute_schedule()

    def delete_model(self, request, obj) -> None:
        services.sla_policy_delete(actor=request.user, policy=obj)

    def delete_queryset(self, request, queryset) -> None:
        for policy in queryset:
            services.sla_policy_delete(actor=request.user, policy=policy)


class SlaClockInline(CxAdminAccess, admin.TabularInline):
    allow_add = allow_change = allow_delete = False
    model = SlaClock
    extra = 0
    fields = ("metric", "started_at", "due_at", "achieved_at", "breached_at", "paused_intervals", "warning_sent_at",
              "escalated_at")
    readonly_fields = fields


@admin.register(TicketSla)
class TicketSlaAdmin(CxAdminAccess, admin.ModelAdmin):
    """Kept by the SLA engine: readable here, never edited."""

    allow_add = allow_change = allow_delete = False
    inlines = [SlaClockInline]
    list_display = ("ticket", "policy", "status_category", "updated_at")
    list_select_related = ("ticket", "policy")
    search_fields = ("=ticket__id",)
    fields = ("ticket", "policy", "status_category", "status_pauses", "updated_at")
    readonly_fields = fields
    show_full_result_count = False


@admin.register(SlaEvent)
class SlaEventAdmin(CxAdminAccess, admin.ModelAdmin):
    allow_add = allow_change = allow_delete = False
    list_display = ("at", "ticket", "metric", "kind")
    list_filter = ("kind", "metric")
    list_select_related = ("ticket",)
    search_fields = ("=ticket__id",)
    date_hierarchy = "at"
    fields = ("ticket", "clock", "metric", "kind", "at", "detail")
    readonly_fields = fields
    show_full_result_count = False
