from django.contrib import admin

from cx.kb.models import Article, ArticleFeedback, Category, HelpCenterSettings, SearchLog, Section, SuggestionOpen


@admin.register(HelpCenterSettings)
class HelpCenterSettingsAdmin(admin.ModelAdmin):
    list_display = ("name", "default_locale", "locales", "primary_color", "accent_color")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ("name", "category", "slug", "position")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "locale", "status", "is_internal", "view_count", "helpful_count", "unhelpful_count")
    list_filter = ("status", "is_internal", "locale")
    search_fields = ("title",)
    readonly_fields = ("body_html", "body_text", "version", "view_count", "helpful_count", "unhelpful_count")


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ("article", "helpful", "comment", "created_at")


@admin.register(SearchLog)
class SearchLogAdmin(admin.ModelAdmin):
    list_display = ("query", "locale", "source", "result_count", "created_at")


@admin.register(SuggestionOpen)
class SuggestionOpenAdmin(admin.ModelAdmin):
    list_display = ("article", "customer", "outcome", "created_at")
