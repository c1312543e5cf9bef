"""The agent workspace under /tickets/."""

from django.urls import path

from cx.tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("counts/", views.inbox_counts, name="inbox_counts"),
    path("views/", views.saved_view_create, name="view_create"),
    path("views/<int:view_id>/delete/", views.saved_view_delete, name="view_delete"),
    path("bulk/", views.bulk_update, name="bulk"),
    path("search/", views.search, name="search"),
    path("canned-replies/", views.canned_replies, name="canned_replies"),
    path("canned-replies/<int:reply_id>/delete/", views.canned_reply_delete, name="canned_reply_delete"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("<int:ticket_id>/conversation/", views.ticket_conversation, name="conversation"),
    path("<int:ticket_id>/audit/", views.ticket_audit, name="audit"),
    path("<int:ticket_id>/properties/", views.ticket_properties, name="properties"),
    path("<int:ticket_id>/assign-to-me/", views.ticket_assign_to_me, name="assign_to_me"),
    path("<int:ticket_id>/solve/", views.ticket_solve, name="solve"),
    path("<int:ticket_id>/reply/", views.ticket_reply_view, name="reply"),
    path("<int:ticket_id>/canned/<int:reply_id>/", views.canned_reply_text, name="canned_text"),
    path("<int:ticket_id>/merge/", views.ticket_merge_view, name="merge"),
    path("<int:ticket_id>/messages/<int:message_id>/split/", views.message_split_view, name="split"),
]
