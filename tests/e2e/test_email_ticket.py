"""An agent opens a ticket that arrived by email with hostile HTML in a real browser: nothing executes, the
inline image renders from the stored attachment, the attachment downloads, the whole email is one click away."""

from __future__ import annotations

import struct
import zlib
from email.message import EmailMessage
from pathlib import Path

from playwright.sync_api import Page, expect

from cx.accounts.services import user_create
from cx.mail.models import Mailbox
from cx.mail.services import inbound_email_receive
from cx.tickets.services import ticket_statuses_ensure_defaults
from tests.e2e.helpers import in_worker_thread

PASSWORD = "correct-horse-42"


def _png(width: int = 8, height: int = 6) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


HOSTILE_HTML = """<html><head><script>window.__pwned = 'head';</script></head><body>
<p id="hello">Hello, my invoice is wrong.</p>
<script>window.__pwned = 'script'; alert('script');</script>
<img src="x" onerror="window.__pwned = 'onerror'; alert('onerror')">
<svg onload="window.__pwned = 'svg'"><circle r="5"></circle></svg>
<a href="javascript:window.__pwned='link'">click me</a>
<iframe src="javascript:alert('frame')"></iframe>
<p>Screenshot: <img alt="screenshot" src="cid:shot@example.org"></p>
</body></html>"""


def _email() -> bytes:
    message = EmailMessage()
    message["From"] = "Carla Customer <carla@example.org>"
    message["To"] = "support@acme.test"
    message["Subject"] = "Invoice is wrong"
    message["Message-ID"] = "<hostile-1@example.org>"
    message.set_content("Hello, my invoice is wrong.")
    message.add_alternative(HOSTILE_HTML, subtype="html")
    message.get_payload()[1].add_related(_png(), maintype="image", subtype="png", cid="<shot@example.org>",
                                         filename="shot.png")
    message.add_attachment(b"%PDF-1.4 invoice 4711", maintype="application", subtype="pdf", filename="invoice.pdf")
    return message.as_bytes()


def test_an_agent_reads_a_hostile_html_email_safely(page: Page, server_url, e2e_db, login):
    ticket_statuses_ensure_defaults()
    user_create(actor=None, username="ann", email="ann@agents.example.test", password=PASSWORD, role="agent",
                first_name="Ann")
    Mailbox.objects.create(address="support@acme.test", brand_name="Acme Support")
    row = in_worker_thread(lambda: inbound_email_receive(raw=_email(), source="smtp"))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    login(page, "ann", PASSWORD)
    page.goto(f"{server_url}/tickets/{row.ticket_id}/")
    expect(page.locator(".message-html").first).to_contain_text("Hello, my invoice is wrong.")
    image = page.get_by_role("img", name="screenshot")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('img[alt=screenshot]').complete")
    assert image.evaluate("img => img.naturalWidth") == 8
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    assert page.locator(".message-html script, .message-html iframe, .message-html svg").count() == 0
    assert page.locator(".message-html [onerror], .message-html [onload]").count() == 0

    with page.expect_download() as download_info:
        page.get_by_role("link", name="invoice.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "invoice.pdf"
    assert Path(download.path()).read_bytes() == b"%PDF-1.4 invoice 4711"

    page.get_by_role("link", name="Show the whole email").click()
    expect(page.get_by_role("link", name="Download original (.eml)")).to_be_visible()
    expect(page.locator(".mail-original-html")).to_contain_text("Hello, my invoice is wrong.")
    expect(page.locator(".mail-original-html img[alt=screenshot]")).to_be_visible()
    assert page.evaluate("() => window.__pwned") is None and dialogs == []
