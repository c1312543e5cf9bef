"""Provider inbound webhooks (django-anymail) with their real payload shapes and signature checks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from email.message import EmailMessage

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.core.cache import cache

from cx.mail.models import InboundEmail
from cx.mail.sns import cert_cache_key, string_to_sign
from cx.tickets.models import Ticket

pytestmark = pytest.mark.django_db
SECRET = "hook-user:hook-pass-123"
SIGNING_KEY = "key-mailgun-signing-test"
BASIC = "Basic " + base64.b64encode(SECRET.encode()).decode()


@pytest.fixture(autouse=True)
def _webhook_settings(settings, mailbox):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
                        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False}


def _raw(subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Carla <carla@example.org>", "support@acme.test", subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@example.org>"
    message.set_content(f"{subject} body")
    return message.as_bytes()


def _mailgun_fields(subject: str, key: str = SIGNING_KEY) -> dict:
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"body-mime": _raw(subject).decode(), "recipient": "support@acme.test", "sender": "carla@example.org",
            "timestamp": timestamp, "token": token, "signature": signature}


def test_mailgun_signed_payload_opens_a_ticket(client):
    response = client.post("/mail/inbound/mailgun/", _mailgun_fields("Mailgun hello"), HTTP_AUTHORIZATION=BASIC)
    assert response.status_code == 200, response.content
    assert Ticket.objects.get().subject == "Mailgun hello"
    assert InboundEmail.objects.get().source == "webhook"


def test_mailgun_with_a_wrong_signature_is_refused(client):
    response = client.post("/mail/inbound/mailgun/", _mailgun_fields("Forged", key="wrong-key"),
                           HTTP_AUTHORIZATION=BASIC)
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_sendgrid_raw_mime_with_basic_auth(client):
    data = {"email": _raw("SendGrid hello").decode(), "to": "support@acme.test", "from": "carla@example.org",
            "envelope": json.dumps({"to": ["support@acme.test"], "from": "carla@example.org"}), "charsets": "{}"}
    assert client.post("/mail/inbound/sendgrid/", data).status_code in (400, 401)  # no credentials
    assert not Ticket.objects.exists()
    response = client.post("/mail/inbound/sendgrid/", data, HTTP_AUTHORIZATION=BASIC)
    assert response.status_code == 200, response.content
    assert Ticket.objects.get().subject == "SendGrid hello"


def test_postmark_raw_email_with_basic_auth(client):
    payload = {"From": "carla@example.org", "To": "support@acme.test", "OriginalRecipient": "support@acme.test",
               "Subject": "Postmark hello", "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
               "TextBody": "Postmark hello body", "Headers": [], "Attachments": [],
               "RawEmail": _raw("Postmark hello").decode()}
    wrong = "Basic " + base64.b64encode(b"hook-user:nope").decode()
    assert client.post("/mail/inbound/postmark/", payload, content_type="application/json",
                       HTTP_AUTHORIZATION=wrong).status_code in (400, 401)
    response = client.post("/mail/inbound/postmark/", payload, content_type="application/json",
                           HTTP_AUTHORIZATION=BASIC)
    assert response.status_code == 200, response.content
    assert Ticket.objects.get().subject == "Postmark hello"


@pytest.fixture
def sns_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    url = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
    # The certificate AWS would serve at SigningCertURL (unreachable here), as the fetch would have cached it.
    cache.set(cert_cache_key(url), cert.public_bytes(serialization.Encoding.PEM))

    def _sign(message: dict) -> dict:
        message = {**message, "SignatureVersion": "2", "SigningCertURL": url}
        signature = key.sign(string_to_sign(message), padding.PKCS1v15(), hashes.SHA256())
        return {**message, "Signature": base64.b64encode(signature).decode()}

    yield _sign
    cache.delete(cert_cache_key(url))


def _ses_notification(subject: str) -> dict:
    ses_event = {"notificationType": "Received",
                 "mail": {"source": "carla@example.org", "destination": ["support@acme.test"],
                          "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"},
                 "receipt": {"recipients": ["support@acme.test"], "spamVerdict": {"status": "PASS"},
                             "action": {"type": "SNS", "encoding": "BASE64",
                                        "topicArn": "arn:aws:sns:eu-west-1:123456789012:inbound"}},
                 "content": base64.b64encode(_raw(subject)).decode()}
    return {"Type": "Notification", "MessageId": "c2d5a8f6-5d6f-5b4a-9d47-2c3f1d2e8c11",
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:inbound", "Subject": "Amazon SES Email Receipt",
            "Message": json.dumps(ses_event), "Timestamp": "2026-11-23T10:00:00.000Z"}


def _post_sns(client, body: dict):
    return client.post("/mail/inbound/amazon_ses/", json.dumps(body), content_type="text/plain; charset=UTF-8",
                       HTTP_AUTHORIZATION=BASIC, HTTP_X_AMZ_SNS_MESSAGE_TYPE=body["Type"],
                       HTTP_X_AMZ_SNS_MESSAGE_ID=body["MessageId"])


def test_amazon_ses_signed_sns_notification_opens_a_ticket(client, sns_signer):
    response = _post_sns(client, sns_signer(_ses_notification("SES hello")))
    assert response.status_code == 200, response.content
    assert Ticket.objects.get().subject == "SES hello"


def test_amazon_ses_with_a_tampered_message_is_refused(client, sns_signer):
    signed = sns_signer(_ses_notification("SES original"))
    tampered = {**signed, "Message": _ses_notification("SES forged")["Message"]}
    response = _post_sns(client, tampered)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"Signature": "invalid"}
    assert not Ticket.objects.exists()


def test_a_cert_url_outside_amazon_is_refused(client, sns_signer):
    signed = sns_signer(_ses_notification("SES evil cert"))
    signed["SigningCertURL"] = "https://evil.example.com/cert.pem"
    assert _post_sns(client, signed).status_code == 400


def test_webhooks_are_refused_until_configured(client, settings):
    settings.ANYMAIL = {}
    response = client.post("/mail/inbound/postmark/", {}, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_configured"
    assert client.post("/mail/inbound/nope/", {}).status_code == 404
