"""/sitemap.xml at the site root: every public help-center page."""

from django.urls import path

from cx.kb import help_views

app_name = "sitemap"
urlpatterns = [path("", help_views.sitemap, name="sitemap")]
