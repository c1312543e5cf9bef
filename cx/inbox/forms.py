"""The public web form. ``website`` is the honeypot: hidden from people (and screen readers), filled by bots."""

from __future__ import annotations

from django import forms

from cx.inbox.services import MAX_ATTACHMENT_BYTES, MAX_NAME

HONEYPOT_FIELD = "website"


class WebFormTicketForm(forms.Form):
    name = forms.CharField(label="Your name", max_length=MAX_NAME,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label="Your email address", max_length=255,
                             help_text="We send a confirmation and our answers here.",
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    subject = forms.CharField(label="Subject", max_length=250)
    message = forms.CharField(label="How can we help?", max_length=20000, widget=forms.Textarea(attrs={"rows": 8}))
    attachment = forms.FileField(label="Attachment (optional)", required=False,
                                 help_text="One file, at most 10 MB (a screenshot, a receipt).")
    website = forms.CharField(label="Leave this field empty", required=False,
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if len(self.files.getlist("attachment")) > 1:
            raise forms.ValidationError("Attach one file only.")
        if upload and upload.size > MAX_ATTACHMENT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_ATTACHMENT_BYTES // 2**20} MB.")
        return upload

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD, "").strip())
