"""Article bodies: Markdown rendered to HTML, then sanitised; and the plain text that search indexes.

Pure functions (no Django). Raw HTML inside Markdown is allowed through the parser and then cleaned by nh3
(ammonia): ``<script>``, ``<style>``, ``<iframe>``, ``<object>`` and ``<embed>`` are removed with their
content, every ``on*`` attribute and ``javascript:`` URL is dropped, links get ``rel="noopener noreferrer"``.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

_PARSER = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable("table")
_PARSER.enable("strikethrough")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "div", "em", "figcaption", "figure", "h1",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
    "code": {"class"},
    "abbr": {"title"},
}
# Elements removed together with everything inside them (their text must not leak onto the page).
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def markdown_render(source: str) -> str:
    """Markdown (with optional inline HTML) to safe HTML."""
    rendered = _PARSER.render(source or "")
    return sanitize_html(rendered)


def sanitize_html(value: str) -> str:
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        clean_content_tags=DROPPED_WITH_CONTENT,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def html_to_text(value: str) -> str:
    """The visible words of sanitised HTML, one line (for search and snippets)."""
    text = _TAG.sub(" ", value.replace("</p>", "</p>\n"))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def markdown_to_text(source: str) -> str:
    return html_to_text(markdown_render(source))
