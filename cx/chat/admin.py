from django.contrib import admin

from cx.chat.models import ChatConversation, ChatVisitor


@admin.register(ChatConversation)
class ChatConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "inbox", "status", "agent", "ticket", "created_at")
    list_filter = ("status", "inbox")
    raw_id_fields = ("visitor", "ticket", "agent")


@admin.register(ChatVisitor)
class ChatVisitorAdmin(admin.ModelAdmin):
    list_display = ("id", "inbox", "name", "email", "current_url", "last_seen_at")
    search_fields = ("name", "email", "external_user_id")
    raw_id_fields = ("customer",)
    exclude = ("public_id",)  # the visitor's credential (its token names it)
