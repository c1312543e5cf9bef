"""Turn raw RFC 5322 / MIME bytes into a ``ParsedEmail``, whatever shape the message arrives in.

Pure Python (no Django): the stdlib ``email`` package with ``policy.default`` does the work; every step that
real-world mail breaks (unknown or mislabelled charsets, undecodable headers, broken boundaries, missing content
types, uuencoded bodies, embedded messages) has a fallback, so parsing never raises on bad input. Problems are
collected in ``ParsedEmail.defects`` instead.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import email
import email.header
import email.parser
import email.utils
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message

# Labels mail software writes that Python does not know, or knows as a smaller charset than the sender used.
CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "x-windows-949": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "iso-2022-jp": "iso2022_jp_ext", "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932",
    "sjis": "cp932", "windows-31j": "cp932", "big5": "big5hkscs", "iso-8859-8-i": "iso-8859-8",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "x-unknown": "utf-8", "unknown-8bit": "utf-8", "unknown": "utf-8", "x-user-defined": "cp1252",
    "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "x-mac-roman": "mac_roman", "macintosh": "mac_roman",
}
TOO_DEEP = "MIME nesting too deep"
MAX_PARTS = 500  # a MIME tree larger than this is a bomb, not a message
MAX_DEPTH = 20
_UUENCODE_BLOCK = re.compile(r"^begin [0-7]{3,4} (?P<name>[^\r\n]+)\r?\n(?P<body>.*?)^end\s*$", re.M | re.S)
_MSGID = re.compile(r"<([^<>\s]+)>")
# Tag patterns stop at the next "<": a stray "<" never makes them scan the rest of the document.
_BLOCK_TAGS = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote|/table|hr)\b[^<>]*>")
_TAGS = re.compile(r"<[^<>]*>")
_HIDDEN_OPEN = re.compile(r"(?i)<!--|<(script|style|head|title)\b")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""  # without angle brackets; referenced as cid: from the HTML body
    inline: bool = False


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""  # unsanitised; cx.mail.sanitize cleans it before anything shows it
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_submitted: str = ""
    precedence: str = ""
    list_id: str = ""
    is_bounce: bool = False
    bounced_recipients: list[str] = field(default_factory=list)
    is_complaint: bool = False
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Every Message-ID this message says it answers, nearest first."""
        seen: list[str] = []
        for value in [*self.in_reply_to, *reversed(self.references)]:
            if value and value not in seen:
                seen.append(value)
        return seen


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, then the usual suspects; never raises."""
    label = (charset or "").strip().strip('"').lower()
    candidates = []
    if label and label not in {"us-ascii", "ascii", "ansi_x3.4-1968"}:  # mislabelled UTF-8 is the usual case
        candidates.append(CHARSET_ALIASES.get(label, label))
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            codecs.lookup(name)
            return data.decode(name)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("utf-8", errors="replace")


def decode_header_value(value: object) -> str:
    """An RFC 2047 header as text, tolerating raw 8-bit bytes and unknown charsets."""
    if value is None:
        return ""
    text = str(value)
    if "=?" not in text:
        return _repair_surrogates(text)
    try:
        pieces = email.header.decode_header(text)
    except (ValueError, LookupError, email.errors.HeaderParseError):
        return _repair_surrogates(text)
    out = []
    for chunk, charset in pieces:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return _repair_surrogates("".join(out))


def _repair_surrogates(text: str) -> str:
    """Headers with raw 8-bit bytes come back as surrogate escapes; read them as UTF-8 (or Windows-1252)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", errors="surrogateescape")
    return decode_bytes(raw, "utf-8")


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:
        value = None
        for key, raw in msg.raw_items() if hasattr(msg, "raw_items") else msg.items():
            if key.lower() == name.lower():
                value = raw
                break
    if value is None:
        return ""
    return " ".join(decode_header_value(value).split())


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    raw_values = []
    try:
        raw_values = [decode_header_value(v) for v in (msg.get_all(name) or [])]
    except Exception:
        raw_values = [raw for key, raw in getattr(msg, "raw_items", msg.items)() if key.lower() == name.lower()]
    found: list[tuple[str, str]] = []
    for display, address in email.utils.getaddresses([str(v) for v in raw_values]):
        address = address.strip().strip("<>").lower()
        if "@" not in address:
            # "Name <user@@host>" and friends: take anything that looks like an address.
            match = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", address + " " + display)
            if not match:
                continue
            address = match.group(0).lower()
        found.append((" ".join(decode_header_value(display).split()), address))
    return found


def message_ids(value: str) -> list[str]:
    """Message-IDs in a header, without brackets; a bare id without brackets counts too."""
    ids = _MSGID.findall(value or "")
    if not ids and value and "@" in value and " " not in value.strip():
        ids = [value.strip()]
    return [i.strip() for i in ids if i.strip()]


def _without_hidden(markup: str) -> str:
    """Drop comments and script/style/head/title blocks in one linear pass (an unclosed one runs to the end)."""
    lower = markup.lower()
    out: list[str] = []
    position = 0
    while True:
        match = _HIDDEN_OPEN.search(markup, position)
        if match is None:
            out.append(markup[position:])
            break
        out.append(markup[position:match.start()])
        if match.group(0) == "<!--":
            end = lower.find("-->", match.end())
            position = len(markup) if end < 0 else end + 3
        else:
            end = lower.find(f"</{match.group(1).lower()}", match.end())
            close = lower.find(">", end) if end >= 0 else -1
            position = len(markup) if close < 0 else close + 1
    return "".join(out)


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body (for agents' previews, search and reply stripping)."""
    text = _without_hidden(markup)
    text = re.sub(r"(?i)<\s*blockquote\b[^<>]*>", "\n> ", text)
    text = _BLOCK_TAGS.sub("\n", text)
    text = re.sub(r"(?i)<\s*(p|div|tr|li|h[1-6])\b[^<>]*>", "\n", text)
    text = _TAGS.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _filename(part: Message) -> str:
    name = None
    with contextlib.suppress(Exception):
        name = part.get_filename()
    if not name:
        with contextlib.suppress(Exception):
            name = part.get_param("name")
            if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
                name = email.utils.collapse_rfc2231_value(name)
    name = decode_header_value(name or "")
    # No path parts, no control characters: the name is shown to agents and used for downloads.
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name).strip(" .")
    return name[:200]


def _content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        ctype = "application/octet-stream"
    return ctype if re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+-]+", ctype or "") else "application/octet-stream"


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    cte = ""
    with contextlib.suppress(Exception):
        cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower().rstrip(";").strip()
    raw = part.get_payload(decode=False)
    if isinstance(raw, list):
        return b""
    if cte in {"x-uuencode", "uuencode", "x-uue", "uue"}:
        decoded = _uudecode_text(str(raw))
        if decoded is not None:
            return decoded
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"undecodable part: {type(exc).__name__}")
        data = None
    if data is None:
        data = str(raw).encode("utf-8", errors="surrogateescape")
    return data


def _uudecode_text(text: str) -> bytes | None:
    match = _UUENCODE_BLOCK.search(text)
    if not match:
        return None
    return _uudecode_lines(match.group("body"))


def _uudecode_lines(body: str) -> bytes:
    out = bytearray()
    for line in body.splitlines():
        if not line.strip() or line.strip() == "`":
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad wrongly; decode the length the line announces.
            with contextlib.suppress(binascii.Error, IndexError):
                nbytes = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
                out += binascii.a2b_uu(line[:nbytes])
    return bytes(out)


def _text_of(part: Message, defects: list[str]) -> str:
    data = _payload_bytes(part, defects)
    charset = None
    with contextlib.suppress(Exception):
        charset = part.get_content_charset()
    return decode_bytes(data, charset).replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class _Walk:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    parts: int = 0
    defects: list[str] = field(default_factory=list)
    reports: list[Message] = field(default_factory=list)


def _disposition(part: Message) -> str:
    with contextlib.suppress(Exception):
        return (part.get_content_disposition() or "").lower()
    return ""


def _walk(part: Message, state: _Walk, depth: int, in_alternative: bool = False) -> None:
    state.parts += 1
    if state.parts > MAX_PARTS or depth > MAX_DEPTH:
        if "too many MIME parts" not in state.defects:
            state.defects.append("too many MIME parts")
        return
    ctype = _content_type(part)
    disposition = _disposition(part)
    filename = _filename(part)
    if ctype in {"message/rfc822", "message/global"} and isinstance(part.get_payload(), list):
        inner = part.get_payload()
        embedded = inner[0] if isinstance(inner, list) and inner else None
        if embedded is not None:
            try:
                data = embedded.as_bytes(policy=policy.compat32)
            except Exception:
                data = str(embedded).encode("utf-8", errors="replace")
            subject = _header(embedded, "Subject") or "forwarded message"
            name = filename or re.sub(r"[^\w .-]+", "_", subject)[:80].strip() + ".eml"
            state.attachments.append(ParsedAttachment(filename=name, content_type="message/rfc822", payload=data))
        return
    if ctype.startswith("multipart/") and not isinstance(part.get_payload(), list):
        recovered = _recover_multipart(part, state.defects)
        if recovered is not None:
            _walk(recovered, state, depth + 1, in_alternative)
            return
        state.defects.append("multipart without parts read as text")
        state.texts.append(decode_bytes(str(part.get_payload()).encode("utf-8", "surrogateescape"), "utf-8"))
        return
    if part.is_multipart() and ctype.startswith("multipart/"):
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if ctype == "multipart/alternative":
            # Prefer the last text/plain and last text/html alternatives; keep the rest as attachments.
            plain = [c for c in children if _content_type(c) == "text/plain" and not _filename(c)]
            rich = [c for c in children if _content_type(c) == "text/html" and not _filename(c)]
            if plain:
                state.texts.append(_text_of(plain[-1], state.defects))
            if rich:
                state.htmls.append(_text_of(rich[-1], state.defects))
            for child in children:
                if child in plain[-1:] or child in rich[-1:]:
                    continue
                if child.is_multipart() and _content_type(child).startswith("multipart/"):
                    _walk(child, state, depth + 1, in_alternative=True)
                elif _content_type(child) not in {"text/plain", "text/html"}:
                    _walk(child, state, depth + 1)
            return
        if ctype == "multipart/report":
            state.reports.append(part)
        for child in children:
            _walk(child, state, depth + 1)
        return
    if ctype in {"message/delivery-status", "message/feedback-report", "message/disposition-notification"}:
        body = part.get_payload()
        text = ""
        text = "\n".join(str(b) for b in body) if isinstance(body, list) else _text_of(part, state.defects)
        state.attachments.append(ParsedAttachment(filename=filename or ctype.split("/")[1] + ".txt",
                                                  content_type="text/plain", payload=text.encode()))
        return
    is_attachment = disposition == "attachment" or (bool(filename) and ctype not in {"text/plain", "text/html"})
    if ctype == "text/plain" and not is_attachment and not in_alternative:
        text = _text_of(part, state.defects)
        for match in list(_UUENCODE_BLOCK.finditer(text)):
            state.attachments.append(ParsedAttachment(
                filename=re.sub(r"[\\/]", "_", match.group("name").strip())[:200],
                content_type="application/octet-stream", payload=_uudecode_lines(match.group("body"))))
        text = _UUENCODE_BLOCK.sub("", text)
        state.texts.append(text)
        return
    if ctype == "text/html" and not is_attachment and not in_alternative:
        state.htmls.append(_text_of(part, state.defects))
        return
    payload = _payload_bytes(part, state.defects)
    content_id = ""
    with contextlib.suppress(Exception):
        content_id = str(part.get("Content-ID", "") or "").strip().strip("<>").strip()
    inline = disposition == "inline" or (bool(content_id) and disposition != "attachment")
    if not filename:
        extension = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "text/plain": ".txt",
                     "text/html": ".html", "application/pdf": ".pdf"}.get(ctype, ".bin")
        filename = f"attachment-{len(state.attachments) + 1}{extension}"
    state.attachments.append(ParsedAttachment(filename=filename, content_type=ctype, payload=payload,
                                              content_id=content_id[:250], inline=inline))


_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,200}?)(--)?\s*$", re.M)


def _recover_multipart(part: Message, defects: list[str]) -> Message | None:
    """A multipart whose declared boundary never occurs: find the boundary the body really uses."""
    body = str(part.get_payload())
    match = _BOUNDARY_LINE.search(body)
    if not match:
        return None
    boundary = match.group(1)
    ctype = _content_type(part)
    rebuilt = f'Content-Type: {ctype}; boundary="{boundary}"\n\n{body}'
    try:
        recovered = email.message_from_string(rebuilt, policy=policy.compat32)
    except Exception:
        return None
    if not isinstance(recovered.get_payload(), list):
        return None
    defects.append(f"boundary recovered: {boundary[:40]}")
    return recovered


_DSN_RECIPIENT = re.compile(r"(?im)^(?:Final|Original)-Recipient:\s*[^;]*;\s*<?([^>\s]+@[^>\s]+?)>?\s*$")
_DSN_ACTION = re.compile(r"(?im)^Action:\s*failed")
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(r"(?i)(undeliver|delivery (status notification|failure|has failed)|"
                             r"returned mail|mail delivery failed|failure notice|non.?delivery)")
_ADDRESS_IN_TEXT = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _detect_bounce(parsed: ParsedEmail, state: _Walk, msg: Message) -> None:
    report_type = ""
    for report in state.reports:
        with contextlib.suppress(Exception):
            report_type = (report.get_param("report-type") or "").lower()
        if report_type == "feedback-report":
            parsed.is_complaint = True
        if report_type == "delivery-status":
            status_text = "\n".join(a.payload.decode("utf-8", "replace") for a in state.attachments
                                    if a.filename.startswith("delivery-status"))
            if not status_text or _DSN_ACTION.search(status_text) or "Action:" not in status_text:
                parsed.is_bounce = True
            parsed.bounced_recipients = sorted({a.lower() for a in _DSN_RECIPIENT.findall(status_text)})
    from_daemon = bool(_BOUNCE_SENDERS.match(parsed.from_address or "")) or (not parsed.from_address and \
        "<>" in _header(msg, "Return-Path"))
    if not parsed.is_bounce and (from_daemon or _header(msg, "X-Failed-Recipients")) and (
            _BOUNCE_SUBJECT.search(parsed.subject) or _header(msg, "X-Failed-Recipients")):
        parsed.is_bounce = True
        failed = _header(msg, "X-Failed-Recipients")
        recipients = _ADDRESS_IN_TEXT.findall(failed) if failed else []
        if not recipients:
            recipients = [a for a in _ADDRESS_IN_TEXT.findall(parsed.text[:5000])
                          if not _BOUNCE_SENDERS.match(a)]
        parsed.bounced_recipients = sorted({a.lower() for a in recipients})[:20]
    if parsed.is_bounce and not parsed.bounced_recipients:
        parsed.bounced_recipients = sorted({a.lower() for a in _ADDRESS_IN_TEXT.findall(parsed.text[:5000])
                                            if not _BOUNCE_SENDERS.match(a)})[:20]


def parse_message(raw: bytes) -> ParsedEmail:
    """Parse raw message bytes. Never raises for any input bytes."""
    defects: list[str] = []
    too_deep = False
    try:
        msg: Message = email.message_from_bytes(raw, policy=policy.default)
    except RecursionError:
        too_deep = True
    except Exception as exc:  # the modern policy gave up on a header: the legacy one is lenient
        defects.append(f"header parsing fell back to compat32: {type(exc).__name__}")
        try:
            msg = email.message_from_bytes(raw, policy=policy.compat32)
        except RecursionError:
            too_deep = True
    if too_deep:
        # Thousands of nested parts or messages: a bomb, not mail. Keep the headers, read the body as text.
        defects.append(TOO_DEEP)
        msg = email.parser.BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    parsed = ParsedEmail(defects=defects)
    for defect in getattr(msg, "defects", [])[:10]:
        defects.append(type(defect).__name__)
    parsed.message_id = next(iter(message_ids(_header(msg, "Message-ID"))), "")[:250]
    parsed.in_reply_to = message_ids(_header(msg, "In-Reply-To"))[:20]
    parsed.references = message_ids(_header(msg, "References"))[-50:]
    parsed.subject = _header(msg, "Subject")[:1000]
    senders = _addresses(msg, "From") or _addresses(msg, "Sender") or _addresses(msg, "Return-Path")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    reply_to = _addresses(msg, "Reply-To")
    parsed.reply_to = reply_to[0][1] if reply_to else ""
    parsed.to = _addresses(msg, "To") + _addresses(msg, "Delivered-To")
    parsed.cc = _addresses(msg, "Cc")
    date_text = _header(msg, "Date")
    if date_text:
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            parsed.date = email.utils.parsedate_to_datetime(date_text)
    parsed.auto_submitted = _header(msg, "Auto-Submitted").lower()
    parsed.precedence = _header(msg, "Precedence").lower()
    parsed.list_id = _header(msg, "List-Id")
    state = _Walk()
    try:
        if too_deep:
            raise RecursionError(TOO_DEEP)
        _walk(msg, state, 0)
    except Exception as exc:  # a part the library cannot read must not lose the message
        defects.append(f"MIME structure unreadable: {type(exc).__name__}")
        body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
        state.texts.append(decode_bytes(body, "utf-8"))
    defects.extend(state.defects)
    parsed.text = "\n\n".join(t.strip("\n") for t in state.texts if t.strip())
    parsed.html = "\n".join(state.htmls)
    if not parsed.text.strip() and parsed.html:
        parsed.text = html_to_text(parsed.html)
    parsed.attachments = state.attachments
    _detect_bounce(parsed, state, msg)
    return parsed


def as_email_message(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]
