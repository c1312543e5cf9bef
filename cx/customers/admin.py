"""Django admin for organisations and customers (cx admins only, see cx.core.admin.CxAdminAccess).

Merge and erasure only happen through the services (they reach every app's data and write the audit log),
so their fields are read-only here and a merged or erased customer cannot be edited. Customers are never
deleted in the admin: erasure is the way to remove personal data. Admin edits are audited like any write.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from cx.core.admin import CxAdminAccess
from cx.core.audit import audit_record
from cx.customers.identities import InvalidIdentity, normalize_identity
from cx.customers.models import Customer, CustomerIdentity, Organization


@admin.register(Organization)
class OrganizationAdmin(CxAdminAccess, admin.ModelAdmin):
    list_display = ("name", "domain", "created_at")
    search_fields = ("name", "domain")
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="organization.changed_in_admin" if change
                     else "organization.created_in_admin", target_type="organization", target_id=obj.pk,
                     data={"fields": sorted(form.changed_data)})


class CustomerIdentityForm(forms.ModelForm):
    """Identities are stored normalised, so the same person is recognised however a channel writes them."""

    class Meta:
        model = CustomerIdentity
        fields = ("kind", "value", "is_primary")

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value:
            try:
                cleaned["value"] = normalize_identity(kind, value)
            except InvalidIdentity as exc:
                self.add_error("value", str(exc))
        return cleaned


class CustomerIdentityInline(CxAdminAccess, admin.TabularInline):
    model = CustomerIdentity
    form = CustomerIdentityForm
    extra = 0
    fields = ("kind", "value", "is_primary", "created_at")
    readonly_fields = ("created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.is_active_record) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.is_active_record) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return (obj is None or obj.is_active_record) and super().has_delete_permission(request, obj)


@admin.register(Customer)
class CustomerAdmin(CxAdminAccess, admin.ModelAdmin):
    allow_delete = False
    list_display = ("id", "__str__", "organization", "created_at", "merged_into", "erased_at")
    list_select_related = ("organization", "merged_into")
    list_filter = ("erased_at", "organization")
    search_fields = ("display_name", "first_name", "last_name", "identities__value", "organization__name")
    search_help_text = "Name, organisation or any identity value"
    readonly_fields = ("merged_into", "merged_at", "erased_at", "created_at", "updated_at")
    autocomplete_fields = ("organization",)
    inlines = (CustomerIdentityInline,)
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and not obj.is_active_record:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="customer.changed_in_admin" if change else "customer.created_in_admin",
                     target_type="customer", target_id=obj.pk, data={"fields": sorted(form.changed_data)})

    def save_formset(self, request, form, formset, change) -> None:
        super().save_formset(request, form, formset, change)
        changes = {
            "added": [f"{i.kind}:{i.value}" for i in formset.new_objects],
            "changed": [f"{i.kind}:{i.value}" for i, _fields in formset.changed_objects],
            "removed": [f"{i.kind}:{i.value}" for i in formset.deleted_objects],
        }
        if any(changes.values()):
            audit_record(actor=request.user, action="customer.identities_changed_in_admin", target_type="customer",
                         target_id=form.instance.pk, data=changes)
