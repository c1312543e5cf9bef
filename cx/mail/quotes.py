"""Separate the new text of an email reply from the quoted history and the signature.

Handles the quoting styles of Gmail, Outlook (desktop and web), Apple Mail / iPhone, Thunderbird, Yahoo, AOL,
Hotmail / Outlook.com and Comcast, top- and bottom-posted, in English and a few other languages. Pure Python.
The rule follows talon: the quotation is cut at the first splitter line ("On ... wrote:", "-----Original
Message-----", an Outlook "From:/Sent:" header block) that follows some text, or — when the reply is written
below the quotation — the splitter and the ``>`` lines after it are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

_WROTE = (r"wrote|writes|schrieb|a écrit|escribió|scrisse|schreef|skrev|kirjoitti|napisał|написал|escreveu"
          r"|yazd\u0131|napsal")
_ON_WROTE = re.compile(
    rf"^\s*[-\s]*(On|Am|Le|El|Il|Op|Den|Em|Dnia|W dniu|Le|Às)\b.{{0,300}}?\b({_WROTE})"
    rf"(\s*:?\s*$|\b.{{1,200}}:\s*$)", re.I | re.S)  # German & co. put the name after the verb
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Messaggio originale|Oorspronkelijk bericht|Forwarded message|Reply message|Original)\s*-{2,}\s*$", re.I)
_HEADER_KEYS = re.compile(r"^\s*\*?(From|Von|De|Van|Från|Da|Od|От)\s*:\*?\s", re.I)
_HEADER_FOLLOW = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Envoyé|Enviado|Datum|Skickat|To|An|À|Para|Subject|"
                            r"Betreff|Objet|Asunto|Cc)\s*:", re.I)
_QUOTE = re.compile(r"^\s*>")
_UNDERSCORES = re.compile(r"^\s*_{20,}\s*$")
_SIG_DELIMITER = re.compile(r"^-- ?$")


@dataclass(frozen=True)
class StrippedReply:
    reply: str  # the new text, signature included (as talon keeps it)
    signature: str  # the part after a "-- " delimiter, if any
    quoted: str  # everything removed
    was_stripped: bool


def _splitter_at(lines: list[str], index: int) -> int:
    """How many lines starting at ``index`` form a quotation splitter (0 when none)."""
    line = lines[index]
    if _ORIGINAL.match(line) or _UNDERSCORES.match(line):
        return 1
    # "On <date>, <name> wrote:" may be wrapped over up to three lines.
    if re.match(rf"^\s*[-\s]*(On|Am|Le|El|Il|Op|Den|Em|Dnia|W dniu|Às)\b|^.*\b({_WROTE})\s*:\s*$", line, re.I):
        for span in (1, 2, 3):
            joined = " ".join(lines[index:index + span])
            if _ON_WROTE.match(joined) and len(joined) < 400:
                return span
    if _HEADER_KEYS.match(line):
        follow = [candidate for candidate in lines[index + 1:index + 5] if candidate.strip()]
        if len(follow) >= 2 and all(_HEADER_FOLLOW.match(candidate) for candidate in follow[:2]):
            return 1
    # Hotmail-style: the quoted header itself is quoted ("> Subject:" / "> From:").
    return 0


def strip_reply(text: str) -> StrippedReply:
    """Split ``text`` (plain text) into the new reply and the quoted history. Linear in the number of lines."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    quoted_or_blank = [bool(_QUOTE.match(line)) or not line.strip() for line in lines]
    # only_quotes_from[i]: every line from i on is quoted or blank (one backward pass, not one scan per line)
    only_quotes_from = [True] * (len(lines) + 1)
    for position in range(len(lines) - 1, -1, -1):
        only_quotes_from[position] = quoted_or_blank[position] and only_quotes_from[position + 1]
    start = 0  # first line of the part still being read (after a bottom-posted quotation)
    has_text_before = False
    index = 0
    while index < len(lines):
        line = lines[index]
        span = _splitter_at(lines, index)
        if span == 0 and has_text_before and _QUOTE.match(line) and only_quotes_from[index]:
            # A block of quoted lines with nothing new after it ends the reply.
            return _combine(lines[:start], _result(lines[start:index], lines[index:]))
        if span:
            if has_text_before:
                return _combine(lines[:start], _result(lines[start:index], lines[index:]))
            # Bottom-posting: drop the splitter and the quoted block below it, read on after it.
            end = index + span
            while end < len(lines) and quoted_or_blank[end]:
                end += 1
            if only_quotes_from[end]:
                return _combine(lines[:start], _result(lines[start:index], lines[index:]))
            start = index = end
            continue
        if line.strip() and not _QUOTE.match(line):
            has_text_before = True
        index += 1
    return _combine(lines[:start], _result(lines[start:], []))


def _combine(skipped: list[str], result: StrippedReply) -> StrippedReply:
    """Put quotations skipped above a bottom-posted reply into the quoted part."""
    if not skipped or not "".join(skipped).strip():
        return result
    if not result.was_stripped and not result.quoted and result.reply == "\n".join(skipped).strip():
        return result
    quoted = "\n".join(skipped).strip() + ("\n" + result.quoted if result.quoted else "")
    return StrippedReply(reply=result.reply, signature=result.signature, quoted=quoted, was_stripped=True)


def _result(kept: list[str], removed: list[str]) -> StrippedReply:
    reply = "\n".join(kept).strip("\n")
    reply = "\n".join(line.rstrip() if not _SIG_DELIMITER.match(line) else line for line in reply.split("\n"))
    reply = reply.strip()
    signature = ""
    reply_lines = reply.split("\n")
    for position in range(len(reply_lines) - 1, -1, -1):
        if _SIG_DELIMITER.match(reply_lines[position]):
            signature = "\n".join(reply_lines[position + 1:]).strip()
            break
    if not reply and removed:
        # Nothing new was written (e.g. a bare forward): keep everything rather than show an empty message.
        return StrippedReply(reply="\n".join(removed).strip(), signature="", quoted="", was_stripped=False)
    return StrippedReply(reply=reply, signature=signature, quoted="\n".join(removed).strip(),
                         was_stripped=bool("".join(removed).strip()))


# --- HTML ---------------------------------------------------------------------------------------------

# Where mail clients start the quoted history in HTML bodies.
_HTML_QUOTE_MARKERS = re.compile(
    r"""<(div|blockquote)[^<>]{0,500}?\b(class|id)\s*=\s*["']?[^"'<>]{0,300}?\b(gmail_quote|gmail_extra|moz-cite-prefix|"""
    r"""yahoo_quoted|divRplyFwdMsg|OutlookMessageHeader|appendonsend|AOLMsgPart|ms-outlook-mobile-reference"""
    r"""|ydp[0-9a-f]+yahoo_quoted|x_divRplyFwdMsg|mail_quote|reply-intro|protonmail_quote)\b"""
    r"""|<blockquote[^<>]{0,500}?type\s*=\s*["']?cite|<hr[^<>]{0,500}?id\s*=\s*["']?stopSpelling"""
    r"""|<div[^<>]{0,500}>\s{0,100}-{2,}\s{0,20}Original Message"""
    r"""|<div[^<>]{0,500}?style\s*=\s*["'][^"'<>]{0,500}?border-top:\s*solid\s*#(?:E1E1E1|B5C4DF)""",
    re.I)

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div", "dl", "dt",
    "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u",
    "ul",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"title", "dir", "lang", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign", "scope"},
    "font": {"color"},
    "ol": {"start"},
}


def sanitize_html(markup: str, *, inline_url_prefix: str = "") -> str:
    """Agent-safe HTML: no scripts, handlers, styles, forms or frames; images only from stored inline
    attachments (``inline_url_prefix``), so remote trackers never load; links open safely."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return value if inline_url_prefix and value.startswith(inline_url_prefix) else None
        return value

    return nh3.clean(markup or "", tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, attribute_filter=keep,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True, clean_content_tags={"script", "style", "title", "head"})


def strip_html_reply(markup: str) -> str:
    """The HTML before the first quoted-history marker (unclosed tags are closed by the sanitiser)."""
    match = _HTML_QUOTE_MARKERS.search(markup or "", 0, 2_000_000)
    if not match or not markup[:match.start()].strip():
        return markup or ""
    head = markup[:match.start()]
    # Only cut when something visible is left above the quote.
    visible = re.sub(r"<[^<>]*>|&nbsp;|\s", "", head)
    return head if visible else markup
