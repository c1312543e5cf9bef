"""Agent pages of the knowledge base under /kb/."""

from django.urls import path

from cx.kb import views

app_name = "kb"
urlpatterns = [
    path("", views.articles, name="articles"),
    path("articles/new/", views.article_new, name="article_new"),
    path("articles/preview/", views.article_preview, name="article_preview"),
    path("articles/<int:article_id>/", views.article, name="article"),
    path("articles/<int:article_id>/status/", views.article_status, name="article_status"),
    path("articles/<int:article_id>/delete/", views.article_delete, name="article_delete"),
    path("articles/<int:article_id>/versions/<int:number>/", views.article_version, name="article_version"),
    path("articles/<int:article_id>/versions/<int:number>/restore/", views.article_restore, name="article_restore"),
    path("articles/<int:article_id>/translations/", views.article_translate, name="article_translate"),
    path("articles/<int:article_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:attachment_id>/delete/", views.attachment_delete, name="attachment_delete"),
    path("categories/", views.categories, name="categories"),
    path("categories/<int:category_id>/delete/", views.category_delete, name="category_delete"),
    path("sections/<int:section_id>/delete/", views.section_delete, name="section_delete"),
    path("report/", views.report, name="report"),
    path("settings/", views.help_center_settings, name="settings"),
    path("picker/", views.picker, name="picker"),
    path("from-ticket/<int:ticket_id>/", views.from_ticket, name="from_ticket"),
]
