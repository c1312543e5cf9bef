"""``{% slot "name" %}`` renders every template registered for the slot with the page's context."""

from __future__ import annotations

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from cx.core.slots import slot_templates

register = template.Library()


@register.simple_tag(takes_context=True)
def slot(context, name: str) -> str:
    flat = context.flatten()
    request = context.get("request")
    return mark_safe("".join(get_template(t).render(flat, request) for t in slot_templates(name)))  # noqa: S308
