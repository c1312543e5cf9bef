"""Media customers send are fetched after commit into the ticket message's attachments, with each
provider's credentials (fake provider on 127.0.0.1); what cannot be fetched stays referenced in the text."""

from __future__ import annotations

import base64
import json

from cx.messaging.models import InboundEvent
from cx.messaging.tests.conftest import ADAPTERS_DIR, post_webhook
from cx.tickets.models import Attachment, Message


def test_whatsapp_image_is_fetched_with_the_access_token(make_connector, fake_provider,
                                                         django_capture_on_commit_callbacks):
    connector = make_connector("whatsapp")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, (ADAPTERS_DIR / "whatsapp/fixtures/message__image.json").read_bytes())
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/jpeg" and attachment.filename == "image-1.jpg"
    assert attachment.file.read().startswith(b"\xff\xd8")
    lookup, download = fake_provider.downloads
    assert lookup.path == "/v21.0/65463453" and download.path == "/media/65463453"
    assert lookup.headers["Authorization"] == download.headers["Authorization"] == "Bearer wa-access-token"
    assert InboundEvent.objects.get().media_fetched_at is not None


def test_telegram_voice_is_fetched_through_get_file(make_connector, fake_provider,
                                                    django_capture_on_commit_callbacks):
    connector = make_connector("telegram")
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, (ADAPTERS_DIR / "telegram/fixtures/09_voice_message.json").read_bytes())
    assert [d.path for d in fake_provider.downloads] == [
        "/bot123456:bot-token/getFile?file_id=AwADBAADbXXXXXXXXXXXGBdhD2l6_XX",
        "/file/bot123456:bot-token/voice/file_7.oga"]
    attachment = Attachment.objects.get()
    assert attachment.message == Message.objects.get(author_type="customer")


def test_twilio_mms_follows_the_redirect_with_credentials_only_to_twilio(make_connector, fake_provider,
                                                                         django_capture_on_commit_callbacks):
    connector = make_connector("twilio_sms")
    media_url = f"{fake_provider.url}/2010-04-01/Accounts/4444/Messages/MM1/Media/ME1"
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, {"MessageSid": "MM1", "AccountSid": "4444", "From": "+15551234567",
                                 "To": "+15005550006", "Body": "Photo of the damage", "NumMedia": "1",
                                 "MediaContentType0": "image/jpeg", "MediaUrl0": media_url})
    first, second = fake_provider.downloads
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"4444:twilio-auth-token-for-tests").decode()
    assert second.path == "/media/twilio"
    assert Attachment.objects.get().filename == "media-1.jpg"


def test_media_that_cannot_be_fetched_stays_referenced(make_connector, fake_provider,
                                                       django_capture_on_commit_callbacks):
    connector = make_connector("twilio_sms")
    body = json.loads((ADAPTERS_DIR / "twilio_sms/fixtures/DictionaryMediaPayload.json").read_text())
    body = {k: str(v).replace("%2B", "+") for k, v in body.items()}  # MediaUrl0 is "www.contoso.com"
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(connector, body)
    message = Message.objects.get(author_type="customer")
    assert "www.contoso.com" in message.body_text and not Attachment.objects.exists()
    assert "no downloadable reference" in InboundEvent.objects.get().media_error
