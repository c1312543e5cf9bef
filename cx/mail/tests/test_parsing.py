"""The parser and the reply stripper on their own (pure functions): charsets, broken MIME, quoting styles,
and never an exception, whatever the bytes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx.mail.parsing import parse_message
from cx.mail.quotes import sanitize_html, strip_reply
from cx.mail.tests.test_inbound import CORPUS

SAMPLES = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml")) if p.stat().st_size < 100_000]


def test_charsets_and_encoded_names_come_out_as_text():
    japanese = parse_message((CORPUS / "mail__multi_charset__japanese_iso_2022.eml").read_bytes())
    assert japanese.subject == "まみむめも"
    korean = parse_message((CORPUS / "mail__plain_emails__raw_email_double_at_in_header.eml").read_bytes())
    assert "한국말" in korean.subject
    names = parse_message((CORPUS / "mail__attachment_emails__attachment_nonascii_filename.eml").read_bytes())
    assert names.attachments[0].filename == "ciële.txt"
    utf7 = parse_message(b"From: a@b.test\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n"
                         b"Hi +AKM-1\r\n")
    assert utf7.text.strip() == "Hi £1"


def test_broken_boundaries_uuencode_and_embedded_messages_are_recovered():
    binary = parse_message((CORPUS / "mail__mime_emails__raw_email_with_binary_encoded.eml").read_bytes())
    assert [a.content_type for a in binary.attachments] == ["image/jpeg"]
    forwarded = parse_message((CORPUS / "mail__attachment_emails__attachment_message_rfc822.eml").read_bytes())
    assert any(a.content_type == "message/rfc822" for a in forwarded.attachments)
    uu = parse_message(b"From: a@b.test\r\nSubject: uu\r\n\r\nSee file\r\nbegin 644 hi.txt\r\n"
                       b"%:&DA\"@``\r\n`\r\nend\r\n")
    assert uu.text.strip() == "See file" and uu.attachments[0].filename == "hi.txt"


def test_bounces_and_complaints_are_recognised():
    assert parse_message((CORPUS / "flanker__bounce__office365.eml").read_bytes()).is_bounce
    assert parse_message((CORPUS / "flanker__complaints__aol.eml").read_bytes()).is_complaint
    assert not parse_message((CORPUS / "talon__standard_replies__gmail.eml").read_bytes()
                             if (CORPUS / "talon__standard_replies__gmail.eml").exists()
                             else (CORPUS / "talon__standard_replies__yahoo.eml").read_bytes()).is_bounce


def test_quoting_styles_of_common_clients_are_stripped():
    cases = {
        "gmail": "Sounds good\n\nOn Tue, Apr 3, 2012 at 4:55 PM, Bob Example <\nbob@example.com> wrote:\n\n> Hi\n",
        "apple": "Sounds good\n\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:55 PM, bob <bob@example.com> wrote:"
                 "\n\n> Hi",
        "outlook": "Sounds good\n\nFrom: Bob [mailto:bob@example.com]\nSent: Tuesday, April 3, 2012 4:55 PM\n"
                   "To: Ann\nSubject: Test\n\nHi",
        "hotmail": "Sounds good\n\n________________________________\nFrom: bob@example.com\nTo: ann@example.com\n"
                   "Subject: Test\nDate: Tue, 3 Apr 2012 16:55:00 +0000\n\nHi",
        "yahoo": "Sounds good\n\n\n----- Original Message -----\nFrom: bob\nSent: Monday\n\nHi",
        "german": "Sounds good\n\nAm 03.04.2012 um 16:55 schrieb Bob <bob@example.com>:\n\n> Hi",
        "bottom": "On 04/02/2012 06:26 PM, Bob wrote:\n> Hi\nSounds good",
    }
    for client, text in cases.items():
        reply = strip_reply(text).reply
        expected = "Sounds good\n\nSent from my iPhone" if client == "apple" else "Sounds good"
        assert reply == expected, client
    interleaved = "Answers inline:\n> question one\nyes\n> question two\nno"
    assert strip_reply(interleaved).reply == interleaved  # inline answers are kept whole
    signed = strip_reply("Thanks\n-- \nAnn\nAcme Corp\n\nOn Mon, Bob wrote:\n> Hi")
    assert signed.signature == "Ann\nAcme Corp" and signed.reply.startswith("Thanks")


def test_sanitising_keeps_text_and_inline_images_only():
    dirty = ('<p style="x" onclick="evil()">Hi <b>there</b></p><script>evil()</script><img src="/mail/inline/4/">'
             '<img src="http://tracker.test/p.gif"><a href="javascript:evil()">x</a><a href="https://ok.test">ok</a>'
             '<form><input></form><iframe src="https://x"></iframe><svg onload="evil()"></svg>')
    clean = sanitize_html(dirty, inline_url_prefix="/mail/inline/")
    assert "<b>there</b>" in clean and 'src="/mail/inline/4/"' in clean and 'href="https://ok.test"' in clean
    for bad in ("script", "onclick", "style=", "tracker", "javascript", "<form", "<iframe", "<svg", "onload"):
        assert bad not in clean


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_any_bytes_parse_without_an_exception(raw):
    parsed = parse_message(raw)
    strip_reply(parsed.text)
    sanitize_html(parsed.html)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.integers(min_value=0), st.binary(min_size=1, max_size=40))
def test_damaged_real_messages_parse_without_an_exception(sample, position, junk):
    cut = position % (len(sample) + 1)
    parsed = parse_message(sample[:cut] + junk + sample[cut + len(junk):])
    strip_reply(parsed.text)
    sanitize_html(parsed.html)


def test_mime_bombs_nested_thousands_deep_do_not_crash():
    nested = b"From: a@b.test\r\nSubject: core\r\n\r\nhello\r\n"
    for level in range(3000):
        nested = b"From: a@b.test\r\nSubject: level %d\r\nContent-Type: message/rfc822\r\n\r\n" % level + nested
    parsed = parse_message(nested)
    assert "MIME nesting too deep" in parsed.defects and parsed.subject == "level 2999"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["On Mon, Bob wrote:", "> quoted", "", "text", "-- ", "-----Original Message-----",
                                 "From: a@b.test", "Sent: Monday", "To: x", "Subject: y", "Am Mo schrieb B:"]),
                max_size=200))
def test_reply_stripping_never_fails_and_never_invents_text(lines):
    text = "\n".join(lines)
    result = strip_reply(text)
    assert all(line.strip() in text for line in result.reply.splitlines())


def test_pathological_inputs_are_handled():
    """Inputs that made earlier versions' regular expressions scan quadratically (minutes) or recurse."""
    from cx.mail.parsing import html_to_text
    from cx.mail.quotes import strip_html_reply

    for hostile in ("<div" * 100_000, "<script>" * 50_000, "<!--" * 100_000, "On a wrote:\n> q\nx\n" * 20_000,
                    "hi\n" + ">\n" * 100_000 + "x"):
        html_to_text(hostile)
        strip_html_reply(hostile)
        assert isinstance(strip_reply(hostile).reply, str)
