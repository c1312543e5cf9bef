"""Django admin for agents, teams and API tokens (cx admins only; see cx.core.admin.CxAdminAccess).

Admin edits are recorded in the cxdesk audit log like any other write. ``is_staff`` follows the role
(admins get it, as in ``user_create``), and token secrets are never shown: only their public prefix.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from cx.accounts.forms import StaffLoginForm
from cx.accounts.models import ApiToken, Role, Team, TeamMembership, User
from cx.accounts.services import api_token_revoke
from cx.core.admin import CxAdminAccess
from cx.core.audit import audit_record
from cx.core.errors import DomainError

# The admin's own login page gets the same per-username lockout as /accounts/login/.
admin.site.login_form = StaffLoginForm

# Form fields that are never written into the audit log.
_UNAUDITED_FIELDS = {"password", "password1", "password2", "usable_password"}


def _audit_membership_formset(request, formset) -> None:
    """Record memberships added, changed or removed through an inline."""
    for membership in formset.new_objects:
        audit_record(actor=request.user, action="team.member_added", target_type="team",
                     target_id=membership.team_id, data={"user_id": membership.user_id, "is_lead": membership.is_lead})
    for membership, _changed in formset.changed_objects:
        audit_record(actor=request.user, action="team.member_changed", target_type="team",
                     target_id=membership.team_id, data={"user_id": membership.user_id, "is_lead": membership.is_lead})
    for membership in formset.deleted_objects:
        audit_record(actor=request.user, action="team.member_removed", target_type="team",
                     target_id=membership.team_id, data={"user_id": membership.user_id})


class MembershipOfUserInline(CxAdminAccess, admin.TabularInline):
    model = TeamMembership
    fk_name = "user"
    fields = ("team", "is_lead")
    extra = 0
    verbose_name = "team"
    verbose_name_plural = "teams"


class MembershipOfTeamInline(CxAdminAccess, admin.TabularInline):
    model = TeamMembership
    fk_name = "team"
    fields = ("user", "is_lead")
    autocomplete_fields = ("user",)
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "members"


@admin.register(User)
class UserAdmin(CxAdminAccess, DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "status", "is_active", "last_login")
    list_filter = ("role", "status", "is_active", "teams")
    search_fields = ("username", "first_name", "last_name", "email")
    ordering = ("username",)
    inlines = (MembershipOfUserInline,)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email", "time_zone")}),
        ("Role and access", {
            "fields": ("role", "status", "is_active", "is_staff", "is_superuser"),
            "description": "The role decides what this person may do. Admins can open this admin site.",
        }),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {
            "classes": ("wide",),
            "fields": ("username", "email", "first_name", "last_name", "role", "usable_password", "password1",
                       "password2"),
        }),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = ["is_staff", "last_login", "date_joined"]
        if not request.user.is_superuser:
            readonly.append("is_superuser")  # only a superuser can make another
        return readonly

    def save_model(self, request, obj, form, change) -> None:
        obj.is_staff = obj.role == Role.ADMIN or obj.is_superuser
        super().save_model(request, obj, form, change)
        changed = sorted(set(form.changed_data) - _UNAUDITED_FIELDS)
        if change:
            audit_record(actor=request.user, action="user.updated", target_type="user", target_id=obj.pk,
                         data={"fields": changed, "role": obj.role, "is_active": obj.is_active})
        else:
            audit_record(actor=request.user, action="user.created", target_type="user", target_id=obj.pk,
                         data={"username": obj.username, "role": obj.role})

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        _audit_membership_formset(request, formset)


@admin.register(Team)
class TeamAdmin(CxAdminAccess, admin.ModelAdmin):
    list_display = ("name", "is_restricted", "member_count", "created_at")
    search_fields = ("name",)
    fields = ("name", "description", "is_restricted")
    inlines = (MembershipOfTeamInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships")

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return len(team.memberships.all())

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="team.updated" if change else "team.created", target_type="team",
                     target_id=obj.pk, data={"name": obj.name})

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        _audit_membership_formset(request, formset)


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("revoked", "Revoked"))

    def queryset(self, request, queryset):
        if self.value() in {"active", "revoked"}:
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(CxAdminAccess, admin.ModelAdmin):
    """Tokens are listed and revoked here, never created or edited; the secret's hash is never shown."""

    allow_add = allow_change = allow_delete = False
    list_display = ("name", "prefix", "user", "scope", "created_at", "last_used_at", "revoked_at", "active")
    list_filter = (TokenStatusFilter, "scope")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    fields = ("name", "prefix", "user", "scope", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_tokens",)

    @admin.display(boolean=True, description="active")
    def active(self, token: ApiToken) -> bool:
        return token.is_active

    @admin.action(description="Revoke selected tokens")
    def revoke_tokens(self, request, queryset) -> None:
        revoked = 0
        for token_id in queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True):
            try:
                api_token_revoke(actor=request.user, token_id=token_id)
            except DomainError as exc:
                self.message_user(request, f"Token {token_id}: {exc.message}", messages.ERROR)
            else:
                revoked += 1
        self.message_user(request, f"Revoked {revoked} token{'s' if revoked != 1 else ''}.", messages.SUCCESS)
