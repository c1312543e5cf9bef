"""The public help center under /help/ (no login)."""

from django.urls import path

from cx.kb import help_views, views

app_name = "help"
urlpatterns = [
    path("", help_views.home, name="home"),
    path("logo/", help_views.logo, name="logo"),
    path("attachments/<int:attachment_id>/<str:filename>", views.attachment_file, name="attachment"),
    path("<str:locale>/", help_views.locale_home, name="locale_home"),
    path("<str:locale>/search/", help_views.search, name="search"),
    path("<str:locale>/suggest/", help_views.suggest, name="suggest"),
    path("<str:locale>/<slug:category_slug>/", help_views.category, name="category"),
    path("<str:locale>/<slug:category_slug>/<slug:article_slug>/", help_views.article, name="article"),
    path("<str:locale>/<slug:category_slug>/<slug:article_slug>/feedback/", help_views.feedback, name="feedback"),
    path("<str:locale>/<slug:category_slug>/<slug:article_slug>/feedback/comment/", help_views.feedback_comment,
         name="feedback_comment"),
]
