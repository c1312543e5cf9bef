"""Sources and their write keys."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, ValidationFailed
from cx.tracking.handler import key_cache_clear, key_hash
from cx.tracking.models import Source, SourceKind

_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")


@dataclass(frozen=True)
class IssuedKey:
    source: Source
    write_key: str  # shown once; only its hash is stored


def _new_key() -> str:
    return "wk_" + secrets.token_urlsafe(24)


@transaction.atomic
def source_create(*, actor: User, name: str, kind: str = SourceKind.WEBSITE, channel: str = "web") -> IssuedKey:
    require_access(actor, AccessLevel.ADMIN)
    name = (name or "").strip()
    errors = {}
    if not name or len(name) > 100:
        errors["name"] = "1 to 100 characters"
    elif Source.objects.filter(name__iexact=name).exists():
        errors["name"] = "a source with this name exists"
    if kind not in SourceKind.values:
        errors["kind"] = f"one of {', '.join(SourceKind.values)}"
    if not _CHANNEL.match(channel or ""):
        errors["channel"] = "lower-case word, e.g. web, app"
    if errors:
        raise ValidationFailed("The source is invalid.", fields=errors)
    key = _new_key()
    source = Source.objects.create(name=name, kind=kind, channel=channel, key_hash=key_hash(key),
                                   key_prefix=key[:10], created_by=actor)
    audit_record(actor=actor, action="tracking.source_created", target_type="tracking_source", target_id=source.pk,
                 data={"name": name, "kind": kind})
    return IssuedKey(source=source, write_key=key)


@transaction.atomic
def source_rotate_key(*, actor: User, source: Source) -> IssuedKey:
    """A new write key; the old one stops working (within seconds on every process)."""
    require_access(actor, AccessLevel.ADMIN)
    if source.revoked_at is not None:
        raise Conflict("The source is revoked.", fields={"source": "revoked"})
    key = _new_key()
    source.key_hash, source.key_prefix = key_hash(key), key[:10]
    source.save(update_fields=["key_hash", "key_prefix"])
    key_cache_clear()
    audit_record(actor=actor, action="tracking.key_rotated", target_type="tracking_source", target_id=source.pk)
    return IssuedKey(source=source, write_key=key)


@transaction.atomic
def source_revoke(*, actor: User, source: Source) -> Source:
    require_access(actor, AccessLevel.ADMIN)
    if source.revoked_at is None:
        source.revoked_at = timezone.now()
        source.save(update_fields=["revoked_at"])
        key_cache_clear()
        audit_record(actor=actor, action="tracking.source_revoked", target_type="tracking_source",
                     target_id=source.pk)
    return source
