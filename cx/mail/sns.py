"""Amazon SNS message signature check for the Amazon SES inbound webhook (django-anymail checks basic auth
only). The signing certificate is fetched from the ``SigningCertURL`` — which must be an https URL on an
``sns.<region>.amazonaws.com`` host — once, with a timeout, and cached."""

from __future__ import annotations

import base64
import re
import urllib.request
from urllib.parse import urlparse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.cache import cache

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
CERT_TIMEOUT = 5


class SnsSignatureError(ValueError):
    pass


def cert_cache_key(url: str) -> str:
    return f"cx.mail.sns-cert:{url}"


def _certificate(url: str) -> x509.Certificate:
    parsed = urlparse(url)
    if parsed.scheme != "https" or not _SNS_HOST.match(parsed.hostname or "") or not parsed.path.endswith(".pem"):
        raise SnsSignatureError("SigningCertURL is not an Amazon SNS certificate URL")
    pem = cache.get(cert_cache_key(url))
    if pem is None:
        try:
            with urllib.request.urlopen(url, timeout=CERT_TIMEOUT) as response:  # noqa: S310 - https, AWS host
                pem = response.read(64 * 1024)
        except OSError as error:
            raise SnsSignatureError(f"cannot fetch the SNS signing certificate: {error}") from None
        cache.set(cert_cache_key(url), pem, 24 * 3600)
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SnsSignatureError("the SNS signing certificate is not a PEM certificate") from None


def string_to_sign(message: dict) -> bytes:
    fields = _FIELDS.get(message.get("Type", ""))
    if fields is None:
        raise SnsSignatureError(f"unknown SNS message type {message.get('Type')!r}")
    parts = []
    for name in fields:
        if name in message and message[name] is not None:
            parts.append(f"{name}\n{message[name]}\n")
    return "".join(parts).encode("utf-8")


def verify_sns_message(message: dict) -> None:
    """Raise SnsSignatureError unless ``message`` carries a valid Amazon SNS signature."""
    version = str(message.get("SignatureVersion", ""))
    if version not in ("1", "2"):
        raise SnsSignatureError("unsupported or missing SignatureVersion")
    try:
        signature = base64.b64decode(message.get("Signature", ""), validate=True)
    except (ValueError, TypeError):
        raise SnsSignatureError("Signature is not base64") from None
    certificate = _certificate(str(message.get("SigningCertURL", "")))
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1 is SHA1 by spec
    try:
        certificate.public_key().verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, TypeError, ValueError):
        raise SnsSignatureError("the SNS signature does not match") from None
