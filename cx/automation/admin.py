"""Django admin for automations: read-only, because rules are edited on the automation pages, where their
conditions and actions are validated and every change is audited."""

from __future__ import annotations

from django.contrib import admin

from cx.automation.models import Macro, TimeRule, TimeRuleRun, Trigger, TriggerFiring
from cx.core.admin import CxAdminAccess


class _ReadOnly(CxAdminAccess, admin.ModelAdmin):
    allow_add = allow_change = allow_delete = False


@admin.register(Trigger)
class TriggerAdmin(_ReadOnly):
    list_display = ("position", "name", "is_active", "fire_once_per_ticket", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "description", "position", "is_active", "fire_once_per_ticket", "conditions", "actions",
              "created_by", "created_at", "updated_at")
    readonly_fields = fields


@admin.register(TimeRule)
class TimeRuleAdmin(_ReadOnly):
    list_display = ("position", "name", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "description", "position", "is_active", "conditions", "actions", "created_by",
              "created_at", "updated_at")
    readonly_fields = fields


@admin.register(Macro)
class MacroAdmin(_ReadOnly):
    list_display = ("name", "owner", "team", "is_active", "applied_count", "last_applied_at")
    list_select_related = ("owner", "team")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "description", "owner", "team", "is_active", "position", "actions", "applied_count",
              "last_applied_at", "created_by", "created_at", "updated_at")
    readonly_fields = fields


@admin.register(TriggerFiring)
class TriggerFiringAdmin(_ReadOnly):
    list_display = ("fired_at", "trigger", "ticket_id", "depth", "outcome", "error")
    list_select_related = ("trigger",)
    list_filter = ("outcome",)
    search_fields = ("=ticket__id", "trigger__name")
    fields = ("trigger", "ticket", "fired_at", "depth", "outcome", "error")
    readonly_fields = fields


@admin.register(TimeRuleRun)
class TimeRuleRunAdmin(_ReadOnly):
    list_display = ("fired_at", "rule", "ticket_id", "state_key", "outcome", "error")
    list_select_related = ("rule",)
    list_filter = ("outcome",)
    search_fields = ("=ticket__id", "rule__name")
    fields = ("rule", "ticket", "state_key", "state_entered_at", "fired_at", "outcome", "error")
    readonly_fields = fields
