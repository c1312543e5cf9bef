from __future__ import annotations

from django import forms


class LoginForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class NewRequestForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=250)
    body = forms.CharField(label="How can we help?", widget=forms.Textarea(attrs={"rows": 8}))
    attachment = forms.FileField(label="Attachment (optional)", required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 5}))
    attachment = forms.FileField(label="Attachment (optional)", required=False)
