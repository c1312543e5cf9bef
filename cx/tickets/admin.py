"""Django admin for the workspace's shared data. Tickets, statuses and custom fields are changed through
the API and the workspace (their services validate and audit); here admins tidy up saved views and canned
replies other agents shared."""

from django.contrib import admin

from cx.tickets.models import CannedReply, SavedView


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "is_shared", "sort", "updated_at")
    list_filter = ("is_shared",)
    search_fields = ("name", "owner__username")
    readonly_fields = ("filters", "created_at", "updated_at")


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "is_shared", "updated_at")
    list_filter = ("is_shared",)
    search_fields = ("title", "body")
    readonly_fields = ("created_at", "updated_at")
