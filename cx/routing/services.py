"""Writes for routing configuration: rules (admins) and agents' routing profiles (the agent or an admin).

Everything is validated before anything is written; a bad condition is a 422 naming the field. Changes
that may let waiting tickets through (a new rule, more capacity, a new skill) re-offer them at once.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cx.accounts.models import AccessLevel, User
from cx.accounts.selectors import team_list
from cx.accounts.services import require_access
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.customers.selectors import organization_list
from cx.routing import engine, selectors
from cx.routing.matching import is_language_code, normalize_language, normalize_word
from cx.routing.models import MAX_CAPACITY, AgentRoutingProfile, RoutingMethod, RoutingRule
from cx.tickets.models import Channel, Priority

MAX_LIST = 30
MAX_WORD = 50
MAX_NAME = 100
MAX_POSITION = 1_000_000
RULE_FIELDS = ("name", "position", "is_active", "channels", "tags", "languages", "priorities", "organization_ids",
               "team_id", "method", "required_skills", "require_agent_language")
PROFILE_FIELDS = ("capacity", "languages", "skills")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list(value: Any, field: str, errors: dict[str, str]) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = "a list of strings"
        return None
    if len(value) > MAX_LIST:
        errors[field] = f"at most {MAX_LIST} items"
        return None
    return value


def _choices(value: Any, field: str, allowed: list[str], errors: dict[str, str]) -> list[str]:
    items = _string_list(value, field, errors) or []
    unknown = [v for v in items if v not in allowed]
    if unknown:
        errors[field] = f"unknown {', '.join(unknown[:3])}; use {', '.join(allowed)}"
    return list(dict.fromkeys(items))


def _words(value: Any, field: str, errors: dict[str, str]) -> list[str]:
    words = [normalize_word(v) for v in _string_list(value, field, errors) or []]
    words = [w for w in dict.fromkeys(words) if w]
    too_long = [w for w in words if len(w) > MAX_WORD]
    if too_long:
        errors[field] = f"{too_long[0][:20]}… is over {MAX_WORD} characters"
    return words


def _languages(value: Any, field: str, errors: dict[str, str]) -> list[str]:
    codes = [normalize_language(v) for v in _string_list(value, field, errors) or []]
    bad = [c for c in codes if not is_language_code(c)]
    if bad:
        errors[field] = f"{bad[0][:20]!r} is not a language code such as en, es or pt-br"
    return list(dict.fromkeys(codes))


def routing_rule_clean(*, actor: User, values: dict[str, Any], rule: RoutingRule | None = None) -> dict[str, Any]:
    """Check a rule's fields (all of them on create, those given on update); returns the cleaned values or
    raises ValidationFailed listing every bad field."""
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if rule is None:
        for required in ("name", "team_id"):
            if required not in values:
                errors[required] = "required"
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "required"
        elif len(name.strip()) > MAX_NAME:
            errors["name"] = f"at most {MAX_NAME} characters"
        else:
            cleaned["name"] = " ".join(name.split())
    if "position" in values:
        if not _is_int(values["position"]) or not 0 <= values["position"] <= MAX_POSITION:
            errors["position"] = f"a whole number from 0 to {MAX_POSITION}"
        else:
            cleaned["position"] = values["position"]
    for flag in ("is_active", "require_agent_language"):
        if flag in values:
            if not isinstance(values[flag], bool):
                errors[flag] = "true or false"
            else:
                cleaned[flag] = values[flag]
    if "channels" in values:
        cleaned["channels"] = _choices(values["channels"], "channels", Channel.values, errors)
    if "priorities" in values:
        cleaned["priorities"] = _choices(values["priorities"], "priorities", Priority.values, errors)
    if "tags" in values:
        cleaned["tags"] = _words(values["tags"], "tags", errors)
    if "required_skills" in values:
        cleaned["required_skills"] = _words(values["required_skills"], "required_skills", errors)
    if "languages" in values:
        cleaned["languages"] = _languages(values["languages"], "languages", errors)
    if "organization_ids" in values:
        ids = values["organization_ids"]
        if not isinstance(ids, list) or not all(_is_int(i) for i in ids) or len(ids) > MAX_LIST:
            errors["organization_ids"] = f"a list of at most {MAX_LIST} organisation ids"
        else:
            ids = list(dict.fromkeys(ids))
            found = set(organization_list(actor=actor).filter(pk__in=ids).values_list("pk", flat=True))
            missing = [i for i in ids if i not in found]
            if missing:
                errors["organization_ids"] = f"no organisation with id {missing[0]}"
            cleaned["organization_ids"] = ids
    if "team_id" in values:
        team_id = values["team_id"]
        if not _is_int(team_id) or not team_list(actor=actor).filter(pk=team_id).exists():
            errors["team_id"] = "no such team"
        else:
            cleaned["team_id"] = team_id
    if "method" in values:
        if values["method"] not in RoutingMethod.values:
            errors["method"] = f"one of {', '.join(RoutingMethod.values)}"
        else:
            cleaned["method"] = values["method"]
    method = cleaned.get("method", rule.method if rule else RoutingMethod.ROUND_ROBIN)
    skills = cleaned.get("required_skills", rule.required_skills if rule else [])
    wants_language = cleaned.get("require_agent_language", rule.require_agent_language if rule else False)
    if method == RoutingMethod.MANUAL and "method" not in errors:
        if skills:
            errors["required_skills"] = "only used when routing picks the agent (not with method manual)"
        if wants_language:
            errors["require_agent_language"] = "only used when routing picks the agent (not with method manual)"
    if errors:
        raise ValidationFailed("Some conditions or actions of the rule are invalid.", fields=errors)
    name = cleaned.get("name")
    if name and RoutingRule.objects.filter(name__iexact=name).exclude(pk=rule.pk if rule else None).exists():
        raise Conflict("A routing rule with that name exists.", fields={"name": "already exists"})
    return cleaned


@transaction.atomic
def routing_rule_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None
                        ) -> RoutingRule:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    cleaned = routing_rule_clean(actor=actor, values=values)
    rule = RoutingRule.objects.create(**cleaned)
    audit_record(actor=actor, action="routing_rule.created", target_type="routing_rule", target_id=rule.pk,
                 data={"values": cleaned})
    if rule.is_active:
        engine.reoffer_for_team(team_id=rule.team_id)
    return rule


@transaction.atomic
def routing_rule_update(*, actor: User, rule: RoutingRule, values: dict[str, Any],
                        token_scope: AccessLevel | None = None) -> RoutingRule:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    cleaned = routing_rule_clean(actor=actor, values=values, rule=rule)
    changes = {k: [getattr(rule, k), v] for k, v in cleaned.items() if getattr(rule, k) != v}
    if changes:
        for name, (_old, new) in changes.items():
            setattr(rule, name, new)
        rule.save()
        audit_record(actor=actor, action="routing_rule.updated", target_type="routing_rule", target_id=rule.pk,
                     data={"changes": changes})
        if rule.is_active:
            engine.reoffer_for_team(team_id=rule.team_id)
    return rule


@transaction.atomic
def routing_rule_delete(*, actor: User, rule: RoutingRule, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="routing_rule.deleted", target_type="routing_rule", target_id=rule.pk,
                 data={"name": rule.name, "team_id": rule.team_id})
    RoutingRule.objects.filter(pk=rule.pk).delete()


def routing_profile_clean(*, values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields=dict.fromkeys(sorted(unknown), "unknown field"))
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "capacity" in values:
        if not _is_int(values["capacity"]) or not 0 <= values["capacity"] <= MAX_CAPACITY:
            errors["capacity"] = f"a whole number from 0 to {MAX_CAPACITY}"
        else:
            cleaned["capacity"] = values["capacity"]
    if "skills" in values:
        cleaned["skills"] = _words(values["skills"], "skills", errors)
    if "languages" in values:
        cleaned["languages"] = _languages(values["languages"], "languages", errors)
    if errors:
        raise ValidationFailed("Some fields of the routing profile are invalid.", fields=errors)
    return cleaned


@transaction.atomic
def routing_profile_update(*, actor: User, user_id: int, values: dict[str, Any],
                           token_scope: AccessLevel | None = None) -> AgentRoutingProfile:
    """Change an agent's capacity, skills or languages; more room or new skills re-offer waiting tickets."""
    selectors.profile_edit_check(actor=actor, user_id=user_id, token_scope=token_scope)
    agent = selectors.routing_agent_get(user_id=user_id)
    if agent is None:
        raise NotFound(f"No agent with id {user_id} takes tickets.")
    cleaned = routing_profile_clean(values=values)
    AgentRoutingProfile.objects.get_or_create(user=agent)
    profile = AgentRoutingProfile.objects.select_for_update().get(user=agent)
    changes = {k: [getattr(profile, k), v] for k, v in cleaned.items() if getattr(profile, k) != v}
    if changes:
        for name, (_old, new) in changes.items():
            setattr(profile, name, new)
        profile.save()
        audit_record(actor=actor, action="routing_profile.updated", target_type="user", target_id=agent.pk,
                     data={"changes": changes})
        engine.reoffer_for_agent(user_id=agent.pk)
    return profile


def routing_agent_room_freed(*, user_id: int) -> None:
    """An app above routing freed some of an agent's capacity outside the ticket's status (a live chat
    ended): re-offer waiting tickets of the agent's teams now rather than at the next periodic run."""
    engine.reoffer_for_agent(user_id=user_id)
