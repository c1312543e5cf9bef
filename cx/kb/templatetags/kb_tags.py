from django import template

from cx.kb.selectors import section_choices

register = template.Library()


@register.simple_tag
def kb_sections() -> list[tuple[int, str]]:
    """Sections an article made from a ticket can go into (for the composer's tools)."""
    return section_choices()
