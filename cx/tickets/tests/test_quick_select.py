"""QuickSelect (the workspace's selects built in Python) writes the same markup as Django's Select."""

from __future__ import annotations

import re

from django import forms
from django.utils.safestring import mark_safe

from cx.tickets.forms import QuickSelect

CHOICES = [("", "Anyone"), ("me", "Me"), ("7", 'Åsa "<b>" O\'Brien & Co'), ("8", mark_safe("<i>safe</i>")),
           ("Group & <x>", [("9", "Nine"), ("10", "Ten <10>")])]


def _normalised(html: str) -> str:
    return re.sub(r"\s+", " ", html).replace("> <", "><").strip()


def test_quick_select_matches_django_select():
    for value in ("", "7", "10", "missing"):
        for attrs in ({}, {"id": "id_assignee", "class": "a&b", "required": True, "disabled": False}):
            django_html = forms.Select(choices=CHOICES).render("assignee", value, attrs=attrs)
            quick_html = QuickSelect(choices=CHOICES).render("assignee", value, attrs=attrs)
            assert _normalised(quick_html) == _normalised(django_html)
    assert "&lt;b&gt;" in quick_html and "<i>safe</i>" in quick_html
