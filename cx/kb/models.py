"""The knowledge base: categories > sections > articles (one row per locale variant), their version
history, attachments, readers' feedback, the search log, deflections and the help center's branding."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class HelpCenterSettings(models.Model):
    """The public help center's brand (one row, edited by admins in the KB settings page or Django admin)."""

    name = models.CharField(max_length=100, default="Help Center")
    tagline = models.CharField(max_length=200, blank=True, default="How can we help?")
    primary_color = models.CharField(max_length=7, default="#1f5fbf")
    accent_color = models.CharField(max_length=7, default="#0b7a4b")
    logo = models.FileField(upload_to="kb/brand/", blank=True)
    default_locale = models.CharField(max_length=16, default="en")
    # Locales the help center offers, comma separated (e.g. "en,de,fr").
    locales = models.CharField(max_length=200, default="en")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "help center settings"
        verbose_name_plural = "help center settings"

    def __str__(self) -> str:
        return self.name

    @property
    def locale_list(self) -> list[str]:
        found = [part.strip() for part in self.locales.split(",") if part.strip()]
        if self.default_locale not in found:
            found.insert(0, self.default_locale)
        return found


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Section(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="sections")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category__position", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["category", "slug"], name="kb_section_slug_per_category")]

    def __str__(self) -> str:
        return f"{self.category.name} / {self.name}"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class KbTag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """One article in one locale. Locale variants of the same article point at the original (``source``)."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="articles")
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="variants")
    locale = models.CharField(max_length=16, default="en")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    body_markdown = models.TextField(blank=True)
    body_html = models.TextField(blank=True)  # rendered and sanitised, never user HTML as typed
    body_text = models.TextField(blank=True)  # what search indexes
    status = models.CharField(max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT,
                              db_index=True)
    # Internal articles are for agents only: never on the help center, in the portal or in public search.
    is_internal = models.BooleanField(default=False)
    tags = models.ManyToManyField(KbTag, blank=True, related_name="articles")
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_from_ticket_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Counters for anonymous readers (known customers also get touchpoints).
    view_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    unhelpful_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["section__category__position", "section__position", "position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["locale", "slug"], name="kb_article_slug_per_locale"),
            models.UniqueConstraint(fields=["source", "locale"], name="kb_article_one_variant_per_locale"),
        ]
        indexes = [models.Index(fields=["status", "is_internal", "locale"], name="kb_article_public_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.locale})"

    @property
    def original_id(self) -> int:
        return self.source_id or self.pk

    @property
    def is_public(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and not self.is_internal


class ArticleVersion(models.Model):
    """A snapshot of an article's content after each change; restoring one makes a new version."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body_markdown = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ArticleStatus.choices)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleAttachment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="kb/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class ArticleFeedback(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'}: article {self.article_id}"


class SearchSource(models.TextChoices):
    HELP_CENTER = "help_center", "Help center"
    PORTAL = "portal", "Portal new request"
    AGENT = "agent", "Agent"


class SearchLog(models.Model):
    query = models.CharField(max_length=200)
    locale = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=16, choices=SearchSource.choices, default=SearchSource.HELP_CENTER)
    result_count = models.PositiveIntegerField()
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.query!r} ({self.result_count} results)"


class DeflectionOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    SUBMITTED = "submitted", "Submitted a request anyway"


class SuggestionOpen(models.Model):
    """A customer opened an article suggested while typing a new request. Unless a request follows within
    the deflection window, it counts as a deflection (the article answered the question)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="suggestion_opens")
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    query = models.CharField(max_length=250, blank=True)
    outcome = models.CharField(max_length=10, choices=DeflectionOutcome.choices, default=DeflectionOutcome.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"article {self.article_id} opened: {self.outcome}"
