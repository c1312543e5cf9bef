"""Notifications in the Django admin: read-only, for admins looking into "why was I (not) told"."""

from __future__ import annotations

from django.contrib import admin

from cx.core.admin import CxAdminAccess
from cx.notifications.models import Notification, NotificationPreference


@admin.register(Notification)
class NotificationAdmin(CxAdminAccess, admin.ModelAdmin):
    allow_add = allow_change = False
    list_display = ("created_at", "recipient", "kind", "title", "in_app", "read_at", "emailed_at")
    list_filter = ("kind", "in_app")
    search_fields = ("title", "recipient__username", "=ticket__id")
    list_select_related = ("recipient",)
    readonly_fields = ("recipient", "kind", "ticket", "title", "body", "url", "in_app", "created_at", "read_at",
                       "emailed_at")
    raw_id_fields = ("ticket",)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(CxAdminAccess, admin.ModelAdmin):
    allow_add = allow_change = False
    list_display = ("user", "kind", "in_app", "email")
    list_filter = ("kind", "in_app", "email")
    list_select_related = ("user",)
