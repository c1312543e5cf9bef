"""Fixtures for the email channel: a mailbox, raw messages built with the stdlib, media in a temp dir."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from cx.mail.models import Mailbox


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mailbox(db):
    return Mailbox.objects.create(address="support@acme.test", brand_name="Acme Support")


@pytest.fixture
def build_mail():
    def _build(*, sender: str = "Carla Customer <carla@example.org>", to: str = "support@acme.test",
               subject: str = "Printer on fire", body: str = "Hello, my printer is on fire.", html: str | None = None,
               message_id: str | None = None, headers: dict | None = None,
               attachments: list[tuple[str, str, bytes, str | None]] | None = None) -> bytes:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id or make_msgid(domain="example.org")
        for key, value in (headers or {}).items():
            message[key] = value
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        for filename, ctype, payload, cid in attachments or []:
            maintype, subtype = ctype.split("/")
            if cid and html is not None:
                message.get_payload()[1].add_related(payload, maintype=maintype, subtype=subtype, cid=f"<{cid}>",
                                                     filename=filename)
            else:
                message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
        return message.as_bytes()

    return _build
