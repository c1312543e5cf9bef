"""Signatures of the chat widget: the visitor token (issued by cxdesk, kept in the browser's localStorage)
and the identity signature the host page computes with the inbox's secret.

The identity signature is HMAC-SHA256, hex, over ``"<user_id>|<email>"`` (email lower-cased; either part may
be empty, not both), keyed with the inbox's identity secret. The host page's server computes it, so a visitor
cannot claim someone else's id or address.
"""

from __future__ import annotations

import hashlib
import hmac

from django.core import signing

VISITOR_TOKEN_SALT = "cx.chat.visitor"  # noqa: S105 - a namespace for signing, not a secret
VISITOR_TOKEN_MAX_AGE = 60 * 60 * 24 * 365  # a year: the widget keeps the same visitor across visits


def visitor_token_issue(*, inbox_id: int, visitor_public_id: str, visitor_id: int | None = None) -> str:
    """The visitor's credential. It also carries the visitor's row id, so the widget's socket can be
    accepted without waiting for the database (the row is checked right after)."""
    claims: dict = {"i": inbox_id, "v": visitor_public_id}
    if visitor_id is not None:
        claims["n"] = visitor_id
    return signing.dumps(claims, salt=VISITOR_TOKEN_SALT, compress=False)


def visitor_token_claims(token: str) -> tuple[int, str, int] | None:
    """(inbox id, visitor public id, visitor row id) of a token this server issued, else None."""
    if not isinstance(token, str) or not token or len(token) > 300:
        return None
    try:
        data = signing.loads(token, salt=VISITOR_TOKEN_SALT, max_age=VISITOR_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if (not isinstance(data, dict) or not isinstance(data.get("i"), int) or not isinstance(data.get("v"), str)
            or not isinstance(data.get("n"), int)):
        return None
    return data["i"], data["v"], data["n"]


def visitor_token_read(token: str, *, inbox_id: int) -> str | None:
    """The visitor's public id when ``token`` was issued by this server for this inbox, else None."""
    if not isinstance(token, str) or not token or len(token) > 300:
        return None
    try:
        data = signing.loads(token, salt=VISITOR_TOKEN_SALT, max_age=VISITOR_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != inbox_id or not isinstance(data.get("v"), str):
        return None
    return data["v"]


def identity_payload(*, user_id: str, email: str) -> str:
    return f"{user_id.strip()}|{email.strip().lower()}"


def identity_signature(*, secret: str, user_id: str = "", email: str = "") -> str:
    """What the host page's server sends as ``signature`` (documented in docs/chat.md)."""
    message = identity_payload(user_id=user_id, email=email).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def identity_signature_valid(*, secret: str, user_id: str, email: str, signature: str) -> bool:
    if not secret or not isinstance(signature, str) or not signature:
        return False
    expected = identity_signature(secret=secret, user_id=user_id, email=email)
    return hmac.compare_digest(expected, signature.strip().lower())
