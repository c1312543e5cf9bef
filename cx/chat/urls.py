"""Live chat under /chat/: the widget's public endpoints, the agents' console and the admins' inboxes."""

from django.urls import path

from cx.chat import views

app_name = "chat"
urlpatterns = [
    path("widget.js", views.widget_js, name="widget_js"),
    path("widget/<str:widget_key>/session", views.widget_session, name="widget_session"),
    path("widget/<str:widget_key>/upload", views.widget_upload, name="widget_upload"),
    path("widget/<str:widget_key>/offline", views.widget_offline_message, name="widget_offline"),
    path("widget/<str:widget_key>/attachments/<int:attachment_id>", views.widget_attachment,
         name="widget_attachment"),
    path("", views.console, name="console"),
    path("queue/", views.console_queue, name="console_queue"),
    path("conversations/<int:conversation_id>/accept/", views.conversation_accept, name="accept"),
    path("conversations/<int:conversation_id>/transfer/", views.conversation_transfer, name="transfer"),
    path("conversations/<int:conversation_id>/end/", views.conversation_end, name="end"),
    path("visitors/<int:visitor_id>/proactive/", views.visitor_proactive, name="proactive"),
    path("tickets/<int:ticket_id>/panel/", views.ticket_panel, name="ticket_panel"),
    path("inboxes/", views.inbox_list, name="inboxes"),
    path("inboxes/<int:inbox_id>/", views.inbox_edit, name="inbox_edit"),
    path("inboxes/<int:inbox_id>/rotate-secret/", views.inbox_rotate_secret, name="inbox_rotate_secret"),
]
