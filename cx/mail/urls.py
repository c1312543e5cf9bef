"""Email channel pages under /mail/ and provider inbound webhooks under /mail/inbound/<provider>/."""

from django.urls import path

from cx.mail import views

app_name = "mail"
urlpatterns = [
    path("", views.mailbox_list, name="mailboxes"),
    path("mailboxes/new/", views.mailbox_create, name="mailbox_create"),
    path("mailboxes/<int:mailbox_id>/", views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:mailbox_id>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("mailboxes/<int:mailbox_id>/rules/", views.rule_create, name="rule_create"),
    path("mailboxes/<int:mailbox_id>/rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("bouncing/<int:address_id>/clear/", views.bouncing_clear, name="bouncing_clear"),
    path("received/", views.inbound_list, name="inbound"),
    path("received/<int:inbound_id>/", views.inbound_detail, name="inbound_detail"),
    path("received/<int:inbound_id>/raw/", views.inbound_raw, name="inbound_raw"),
    path("received/<int:inbound_id>/release/", views.inbound_release, name="inbound_release"),
    path("messages/<int:message_id>/original/", views.message_original, name="message_original"),
    path("inline/<int:attachment_id>/", views.inline_image, name="inline_image"),
    path("inbound/<str:provider>/", views.provider_inbound, name="provider_inbound"),
]
