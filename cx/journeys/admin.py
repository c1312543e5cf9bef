"""Django admin for touchpoints: read-only, because the timeline is append-only."""

from __future__ import annotations

from django.contrib import admin

from cx.core.admin import CxAdminAccess
from cx.journeys.models import Touchpoint


@admin.register(Touchpoint)
class TouchpointAdmin(CxAdminAccess, admin.ModelAdmin):
    allow_add = allow_change = allow_delete = False
    list_display = ("occurred_at", "customer", "kind", "channel", "stage", "source")
    list_select_related = ("customer",)
    list_filter = ("stage", "channel", "source")
    search_fields = ("kind", "=customer__id", "external_id")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    fields = ("customer", "kind", "channel", "stage", "occurred_at", "recorded_at", "properties", "source",
              "external_id")
    readonly_fields = fields
