"""Web form submissions in the Django admin (read-only): which ticket each opened and whether the
confirmation went out."""

from __future__ import annotations

from django.contrib import admin

from cx.core.admin import CxAdminAccess
from cx.inbox.models import WebFormSubmission


@admin.register(WebFormSubmission)
class WebFormSubmissionAdmin(CxAdminAccess, admin.ModelAdmin):
    allow_add = allow_change = False
    list_display = ("created_at", "ticket", "email", "confirmation_sent_at")
    search_fields = ("email", "=ticket__id")
    date_hierarchy = "created_at"
    list_select_related = ("ticket",)
    readonly_fields = ("ticket", "email", "created_at", "confirmation_sent_at")
