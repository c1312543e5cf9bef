"""Django admin for core records, and the access rule every cxdesk ModelAdmin shares.

cxdesk roles, not Django's per-model permissions, decide who manages what: a cx admin (role admin, or a
superuser) may use the admin; anyone else with ``is_staff`` sees nothing in it.
"""

from __future__ import annotations

from django.contrib import admin

from cx.core.models import AuditEvent


def is_cx_admin(request) -> bool:
    user = request.user
    return bool(user.is_active and (user.is_superuser or getattr(user, "is_cx_admin", False)))


class CxAdminAccess:
    """Mix into a ModelAdmin so cx admins may view, add, change and delete; set flags to narrow it."""

    allow_add = True
    allow_change = True
    allow_delete = True

    def has_module_permission(self, request) -> bool:
        return is_cx_admin(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_cx_admin(request)

    def has_add_permission(self, request, *args) -> bool:
        return self.allow_add and is_cx_admin(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.allow_change and is_cx_admin(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.allow_delete and is_cx_admin(request)


@admin.register(AuditEvent)
class AuditEventAdmin(CxAdminAccess, admin.ModelAdmin):
    """The audit log is append-only: readable here, never edited or deleted."""

    allow_add = allow_change = allow_delete = False
    list_display = ("created_at", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("actor_label", "action", "target_type", "=target_id")
    date_hierarchy = "created_at"
    fields = ("created_at", "actor", "actor_label", "action", "target_type", "target_id", "data")
    readonly_fields = fields
    list_select_related = ("actor",)
