"""Tokens are shown once, stored hashed, scoped, revocable and record their last use; roles cap access."""

from __future__ import annotations

import hashlib

import pytest

from cx.accounts.models import AccessLevel, ApiToken, Role
from cx.accounts.services import api_token_authenticate, api_token_create, api_token_revoke, require_access
from cx.core.errors import NotFound, PermissionDenied, ValidationFailed
from cx.core.models import AuditEvent


def test_token_secret_is_stored_only_as_a_hash(agent_user):
    issued = api_token_create(actor=agent_user, name="ci", scope="write")
    stored = ApiToken.objects.get(pk=issued.token.pk)
    secret = issued.plaintext.split("_", 2)[2]
    assert secret not in stored.secret_hash
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert issued.plaintext not in str(AuditEvent.objects.values_list("data", flat=True))


def test_authenticating_a_token_records_last_use(agent_user):
    issued = api_token_create(actor=agent_user, name="ci", scope="read")
    token = api_token_authenticate(plaintext=issued.plaintext)
    assert token is not None and token.user == agent_user
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_a_revoked_or_altered_token_does_not_authenticate(agent_user):
    issued = api_token_create(actor=agent_user, name="ci", scope="read")
    altered = issued.plaintext[:-1] + ("A" if issued.plaintext[-1] != "A" else "B")
    assert api_token_authenticate(plaintext=altered) is None
    api_token_revoke(actor=agent_user, token_id=issued.token.pk)
    assert api_token_authenticate(plaintext=issued.plaintext) is None
    assert api_token_authenticate(plaintext="garbage") is None


def test_a_role_cannot_mint_a_token_above_itself(analyst_user, agent_user):
    with pytest.raises(PermissionDenied):
        api_token_create(actor=analyst_user, name="x", scope="write")
    with pytest.raises(PermissionDenied):
        api_token_create(actor=agent_user, name="x", scope="admin")
    with pytest.raises(ValidationFailed):
        api_token_create(actor=agent_user, name="x", scope="superuser")
    assert ApiToken.objects.count() == 0


def test_an_agent_cannot_revoke_someone_elses_token(agent_user, make_user):
    other = make_user(Role.AGENT, "otto")
    issued = api_token_create(actor=other, name="mine", scope="read")
    with pytest.raises(NotFound):
        api_token_revoke(actor=agent_user, token_id=issued.token.pk)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


def test_token_scope_lowers_but_never_raises_the_role(admin_user, analyst_user):
    require_access(admin_user, AccessLevel.ADMIN)
    with pytest.raises(PermissionDenied):
        require_access(admin_user, AccessLevel.WRITE, token_scope=AccessLevel.READ)
    with pytest.raises(PermissionDenied):
        require_access(analyst_user, AccessLevel.WRITE, token_scope=AccessLevel.ADMIN)
