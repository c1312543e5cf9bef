"""Forms of the KB's agent pages and the help center (services do the real validation)."""

from __future__ import annotations

from django import forms

from cx.kb.models import ArticleStatus


class ArticleForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    section_id = forms.TypedChoiceField(label="Section", coerce=int)
    locale = forms.CharField(label="Locale", max_length=16, required=False,
                             help_text="Language code such as en or de; the help center's default when empty.")
    slug = forms.CharField(label="URL slug", max_length=120, required=False,
                           help_text="Made from the title when empty.")
    body_markdown = forms.CharField(label="Body (Markdown)", required=False, strip=False,
                                    widget=forms.Textarea(attrs={"rows": 18, "class": "kb-editor"}))
    tags = forms.CharField(label="Tags", required=False, help_text="Comma separated.")
    is_internal = forms.BooleanField(label="Internal (agents only; never on the help center)", required=False)
    note = forms.CharField(label="Change note", max_length=200, required=False)

    def __init__(self, *args, sections: list[tuple[int, str]] = (), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section_id"].choices = list(sections)
        if editing:
            del self.fields["locale"]
        else:
            del self.fields["note"]


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label="Search articles", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any status"), *ArticleStatus.choices])
    locale = forms.CharField(label="Locale", required=False, max_length=16)


class CategoryForm(forms.Form):
    name = forms.CharField(label="Category name", max_length=120)
    slug = forms.CharField(label="Slug", max_length=120, required=False)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SectionForm(forms.Form):
    category_id = forms.TypedChoiceField(label="Category", coerce=int)
    name = forms.CharField(label="Section name", max_length=120)
    slug = forms.CharField(label="Slug", max_length=120, required=False)

    def __init__(self, *args, categories: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category_id"].choices = list(categories)


class TranslationForm(forms.Form):
    locale = forms.CharField(label="Locale", max_length=16)
    title = forms.CharField(label="Translated title", max_length=200)


class HelpCenterSettingsForm(forms.Form):
    name = forms.CharField(label="Help center name", max_length=100)
    tagline = forms.CharField(label="Tagline", max_length=200, required=False)
    primary_color = forms.CharField(label="Primary colour", max_length=7,
                                    widget=forms.TextInput(attrs={"type": "color"}))
    accent_color = forms.CharField(label="Accent colour", max_length=7, widget=forms.TextInput(attrs={"type": "color"}))
    default_locale = forms.CharField(label="Default locale", max_length=16)
    locales = forms.CharField(label="Locales offered", max_length=200, help_text="Comma separated, e.g. en,de,fr.")
    logo = forms.FileField(label="Logo", required=False)


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(label="Was this article helpful?", coerce=lambda v: v == "yes",
                                     choices=[("yes", "Yes"), ("no", "No")])
    comment = forms.CharField(label="Anything we should add or fix?", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
