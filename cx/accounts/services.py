"""Writes for agents, teams and API tokens. Every function is atomic and records an audit event."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, AgentStatus, ApiToken, Role, Team, TeamMembership, User
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

TOKEN_PREFIX = "cx"  # noqa: S105 - a public marker, not a secret
# last_used_at is written at most this often per token, so reads do not turn into writes on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def require_access(actor: User, level: AccessLevel, *, token_scope: AccessLevel | None = None) -> None:
    """Raise PermissionDenied unless the actor (and its token, if any) reaches ``level``."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied("Authentication required.", code="not_authenticated")
    effective = actor.access_level if token_scope is None else min(actor.access_level, token_scope)
    if effective < level:
        raise PermissionDenied(
            f"This needs {AccessLevel(level).label} access; you have {AccessLevel(effective).label}."
        )


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    email: str,
    password: str | None,
    role: str = Role.AGENT,
    first_name: str = "",
    last_name: str = "",
    is_superuser: bool = False,
) -> User:
    if actor is not None:
        require_access(actor, AccessLevel.ADMIN)
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": f"must be one of {', '.join(Role.values)}"})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("That username is taken.", fields={"username": "already exists"})
    user = User(
        username=username,
        email=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
        is_staff=role == Role.ADMIN or is_superuser,
        is_superuser=is_superuser,
    )
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed("The password is too weak.", fields={"password": " ".join(exc.messages)}) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(actor=actor, action="user.created", target_type="user", target_id=user.pk,
                 data={"username": username, "role": role})
    return user


# Apps above accounts (routing) react to an agent going online/away/offline. Explicit registration, not
# signals; observers run inside the status change's transaction, so their work commits with it.
AgentStatusObserver = Callable[..., None]  # called as observer(user=, old_status=, new_status=)
_agent_status_observers: list[AgentStatusObserver] = []


def register_agent_status_observer(observer: AgentStatusObserver) -> None:
    if observer not in _agent_status_observers:
        _agent_status_observers.append(observer)


def system_user_get(*, username: str, label: str) -> User:
    """The account an automatic part of cxdesk acts as (so its changes are audited and permission-checked).

    Created on first use with no usable password and ``is_system`` set: it cannot log in and is left out of
    agent lists, assignment and routing."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            user = User(username=username, first_name=label, role=Role.AGENT, is_system=True,
                        status=AgentStatus.OFFLINE)
            user.set_unusable_password()
            user.save()
    except IntegrityError:  # created by a concurrent transaction meanwhile
        return User.objects.get(username=username)
    audit_record(actor=None, action="user.created", target_type="user", target_id=user.pk,
                 data={"username": username, "system": True})
    return user


@transaction.atomic
def user_set_status(*, actor: User, status: str) -> User:
    if status not in AgentStatus.values:
        raise ValidationFailed("Unknown status.", fields={"status": f"must be one of {', '.join(AgentStatus.values)}"})
    old_status = actor.status
    actor.status = status
    actor.save(update_fields=["status"])
    if old_status != status:
        for observer in list(_agent_status_observers):
            observer(user=actor, old_status=old_status, new_status=status)
    return actor


@transaction.atomic
def team_create(*, actor: User | None, name: str, description: str = "", is_restricted: bool = False) -> Team:
    if actor is not None:
        require_access(actor, AccessLevel.ADMIN)
    name = name.strip()
    if not name:
        raise ValidationFailed("A team needs a name.", fields={"name": "required"})
    if Team.objects.filter(name__iexact=name).exists():
        raise Conflict("A team with that name exists.", fields={"name": "already exists"})
    team = Team.objects.create(name=name, description=description, is_restricted=is_restricted)
    audit_record(actor=actor, action="team.created", target_type="team", target_id=team.pk, data={"name": name})
    return team


@transaction.atomic
def team_add_member(*, actor: User | None, team: Team, user: User, is_lead: bool = False) -> TeamMembership:
    if actor is not None:
        require_access(actor, AccessLevel.ADMIN)
    membership, _ = TeamMembership.objects.update_or_create(team=team, user=user, defaults={"is_lead": is_lead})
    audit_record(actor=actor, action="team.member_added", target_type="team", target_id=team.pk,
                 data={"user_id": user.pk, "is_lead": is_lead})
    return membership


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown to the user once, never stored


def _hash_secret(secret: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, actor: User, name: str, scope: str) -> IssuedToken:
    require_access(actor, AccessLevel.READ)
    name = name.strip()
    if not name:
        raise ValidationFailed("A token needs a name.", fields={"name": "required"})
    if len(name) > 100:
        raise ValidationFailed("The token name is too long.", fields={"name": "at most 100 characters"})
    by_label = {label: value for value, label in AccessLevel.choices}
    if scope not in by_label:
        raise ValidationFailed("Unknown scope.", fields={"scope": "must be read, write or admin"})
    level = AccessLevel(by_label[scope])
    if level > actor.access_level:
        raise PermissionDenied(
            f"Your role cannot create a {scope} token.", fields={"scope": f"at most {actor.access_level.label}"}
        )
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=actor, name=name, prefix=prefix, secret_hash=_hash_secret(secret), scope=level)
    audit_record(actor=actor, action="api_token.created", target_type="api_token", target_id=token.pk,
                 data={"name": name, "scope": scope, "prefix": prefix})
    return IssuedToken(token=token, plaintext=f"{TOKEN_PREFIX}_{prefix}_{secret}")


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    require_access(actor, AccessLevel.READ)
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    # Admins may revoke anyone's token; others only their own. Others' tokens look absent (no probing).
    if token is None or (token.user_id != actor.pk and not actor.is_cx_admin):
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoked", target_type="api_token", target_id=token.pk,
                     data={"prefix": token.prefix})
    return token


def api_token_authenticate(*, plaintext: str) -> ApiToken | None:
    """Return the active token for a presented secret, recording when it was last used."""
    parts = plaintext.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    _, prefix, secret = parts
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash_secret(secret)):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
