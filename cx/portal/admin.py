from django.contrib import admin

from cx.portal.models import MagicLink, OrganizationPortalAccess


@admin.register(OrganizationPortalAccess)
class OrganizationPortalAccessAdmin(admin.ModelAdmin):
    list_display = ("organization", "members_see_all_tickets", "updated_at")
    list_editable = ("members_see_all_tickets",)


@admin.register(MagicLink)
class MagicLinkAdmin(admin.ModelAdmin):
    list_display = ("customer", "email", "created_at", "expires_at", "sent_at", "used_at")
    # Neither the hash nor the salt is shown: they are of no use to people and are secrets' ingredients.
    readonly_fields = ("customer", "email", "created_at", "expires_at", "sent_at", "used_at", "next_path")
    exclude = ("salt", "token_hash")

    def has_add_permission(self, request) -> bool:
        return False
