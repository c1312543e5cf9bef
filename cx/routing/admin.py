"""Django admin for routing rules and agents' routing profiles (cx admins only).

Saves go through the routing services, so the admin checks conditions exactly like the API, writes the
audit log and re-offers waiting tickets. Round-robin cursors are internal and not shown.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from cx.core.admin import CxAdminAccess
from cx.core.errors import DomainError
from cx.routing import services
from cx.routing.models import AgentRoutingProfile, RoutingRule


def _add_domain_error(form: forms.ModelForm, exc: DomainError) -> None:
    if not exc.fields:
        form.add_error(None, exc.message)
    for name, reason in exc.fields.items():
        field = "team" if name == "team_id" else name
        if field in form.fields:
            form.add_error(field, reason)
        else:
            form.add_error(None, f"{name}: {reason}")


class RoutingRuleForm(forms.ModelForm):
    actor: Any = None

    class Meta:
        model = RoutingRule
        fields = ("name", "position", "is_active", "channels", "tags", "languages", "priorities",
                  "organization_ids", "team", "method", "required_skills", "require_agent_language")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {name: cleaned.get(name) for name in self.Meta.fields if name != "team"}
        values["team_id"] = cleaned["team"].pk if cleaned.get("team") else None
        for name in ("channels", "tags", "languages", "priorities", "organization_ids", "required_skills"):
            if values[name] is None:
                values[name] = []
        try:
            services.routing_rule_clean(actor=self.actor, values=values,
                                        rule=self.instance if self.instance.pk else None)
        except DomainError as exc:
            _add_domain_error(self, exc)
        self.service_values = values
        return cleaned


@admin.register(RoutingRule)
class RoutingRuleAdmin(CxAdminAccess, admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("position", "name", "team", "method", "is_active")
    list_display_links = ("name",)
    list_filter = ("is_active", "method", "team")
    search_fields = ("name",)
    list_select_related = ("team",)
    actions = None  # bulk delete would skip the service (audit)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj: RoutingRule, form: RoutingRuleForm, change: bool) -> None:
        if change:
            rule = services.routing_rule_update(actor=request.user, rule=obj, values=form.service_values)
        else:
            rule = services.routing_rule_create(actor=request.user, values=form.service_values)
        obj.pk = rule.pk
        obj._state.adding = False

    def delete_model(self, request, obj: RoutingRule) -> None:
        services.routing_rule_delete(actor=request.user, rule=obj)


class RoutingProfileForm(forms.ModelForm):
    actor: Any = None

    class Meta:
        model = AgentRoutingProfile
        fields = ("capacity", "languages", "skills")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {name: cleaned.get(name) if cleaned.get(name) is not None else [] for name in ("languages", "skills")}
        values["capacity"] = cleaned.get("capacity")
        try:
            services.routing_profile_clean(values=values)
        except DomainError as exc:
            _add_domain_error(self, exc)
        self.service_values = values
        return cleaned


@admin.register(AgentRoutingProfile)
class AgentRoutingProfileAdmin(CxAdminAccess, admin.ModelAdmin):
    """Profiles are created on first routing or first edit; here admins adjust existing ones."""

    allow_add = False
    allow_delete = False
    form = RoutingProfileForm
    list_display = ("user", "capacity", "skills", "languages", "last_routed_at")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    list_select_related = ("user",)
    readonly_fields = ("user", "last_routed_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj: AgentRoutingProfile, form: RoutingProfileForm, change: bool) -> None:
        services.routing_profile_update(actor=request.user, user_id=obj.user_id, values=form.service_values)
