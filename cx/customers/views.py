"""Customer and organisation pages. Views parse input, call one service or selector, and render.

The customer's timeline belongs to the journeys app (above this one in the layer order), so the detail page
loads it with htmx from ``journeys:customer_timeline`` instead of importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import DomainError, PermissionDenied, ValidationFailed
from cx.core.pagination import cursor_decode, cursor_encode
from cx.core.views import render_domain_error
from cx.customers.forms import (
    CustomerForm,
    EraseForm,
    IdentityForm,
    IdentityRowFormSet,
    MergeForm,
    OrganizationForm,
    apply_identity_errors,
    apply_service_errors,
    identity_rows,
)
from cx.customers.models import Customer, IdentityKind
from cx.customers.selectors import (
    customer_get_for,
    customer_search,
    organization_get_for,
    organization_list,
)
from cx.customers.services import (
    customer_create,
    customer_erase,
    customer_export,
    customer_merge,
    customer_update,
    identity_add,
    identity_remove,
    organization_create,
)

PAGE_SIZE = 25
MERGE_CANDIDATES = 20


# --- helpers ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeysetPage:
    items: list
    next_cursor: str | None


def _keyset_page(qs: QuerySet, *, cursor: str | None, key: str, descending: bool,
                 size: int = PAGE_SIZE) -> KeysetPage:
    """One page of an already ordered queryset, continuing after the cursor (no OFFSET scans)."""
    if cursor:
        (last,) = cursor_decode(cursor, size=1)
        if isinstance(last, bool) or not isinstance(last, int | str):
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "malformed cursor"})
        qs = qs.filter(**{f"{key}__{'lt' if descending else 'gt'}": last})
    rows = list(qs[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = cursor_encode([getattr(rows[-1], key)])
    return KeysetPage(items=rows, next_cursor=next_cursor)


def _contact(customer: Customer, kind: str):
    """The primary identity of a kind, else the first one (identities are prefetched by the selectors)."""
    candidates = [identity for identity in customer.identities.all() if identity.kind == kind]
    return next((i for i in candidates if i.is_primary), candidates[0] if candidates else None)


def _rows(customers: list[Customer]) -> list[dict[str, Any]]:
    return [
        {"customer": c, "email": _contact(c, IdentityKind.EMAIL), "phone": _contact(c, IdentityKind.PHONE)}
        for c in customers
    ]


def _error_page(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="customers")


def _customer_or_error(request: HttpRequest, customer_id: int) -> Customer | HttpResponse:
    try:
        return customer_get_for(actor=request.user, customer_id=customer_id)
    except DomainError as error:
        return _error_page(request, error)


def _organizations(request: HttpRequest):
    return organization_list(actor=request.user)


# --- customers -------------------------------------------------------------------------------------------

@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """Search and browse customers; htmx asks for the results table or the next rows only."""
    query = request.GET.get("q", "")
    cursor = request.GET.get("cursor") or None
    context: dict[str, Any] = {"q": query, "cursor": cursor, "rows": [], "next_cursor": None, "error": None}
    status = 200
    try:
        page = _keyset_page(customer_search(actor=request.user, query=query), cursor=cursor, key="id",
                            descending=True)
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        context["error"] = error
        status = error.status
    else:
        context.update(rows=_rows(page.items), next_cursor=page.next_cursor)
    if request.htmx and not request.htmx.history_restore_request:
        template = "customers/partials/customer_rows.html" if cursor else "customers/partials/customer_results.html"
    else:
        template = "customers/list.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    try:
        require_access(request.user, AccessLevel.WRITE)
    except PermissionDenied as error:
        return _error_page(request, error)
    organizations = _organizations(request)
    if request.method == "GET":
        form = CustomerForm(organizations=organizations)
        formset = IdentityRowFormSet(prefix="identities", initial=[{"kind": "email"}, {"kind": "phone"}])
        return render(request, "customers/form.html", {"form": form, "formset": formset, "creating": True})

    form = CustomerForm(request.POST, organizations=organizations)
    formset = IdentityRowFormSet(request.POST, prefix="identities")
    status = 422
    if form.is_valid() and formset.is_valid():
        try:
            customer = customer_create(actor=request.user, identities=identity_rows(formset),
                                       **form.service_values())
        except DomainError as error:
            if apply_identity_errors(formset, error):
                form.add_error(None, error.message)
            else:
                apply_service_errors(form, error, field_map={"organization_id": "organization"})
            status = error.status
        else:
            messages.success(request, f"Customer {customer.name} created.")
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/form.html", {"form": form, "formset": formset, "creating": True},
                  status=status)


def _render_detail(request: HttpRequest, customer: Customer, *, identity_form: IdentityForm | None = None,
                   status: int = 200) -> HttpResponse:
    context = {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "identity_form": identity_form or IdentityForm(prefix="identity"),
        "can_write": request.user.can_write,
        "is_admin": request.user.is_cx_admin,
    }
    return render(request, "customers/detail.html", context, status=status)


@login_required
@require_GET
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_error(request, customer_id)
    if isinstance(customer, HttpResponse):
        return customer
    return _render_detail(request, customer)


@login_required
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_error(request, customer_id)
    if isinstance(customer, HttpResponse):
        return customer
    try:
        require_access(request.user, AccessLevel.WRITE)
    except PermissionDenied as error:
        return _error_page(request, error)
    organizations = _organizations(request)
    if request.method == "GET":
        initial = {name: getattr(customer, name) for name in CustomerForm.base_fields if name != "organization"}
        initial["organization"] = customer.organization_id
        form = CustomerForm(initial=initial, organizations=organizations)
        return render(request, "customers/form.html", {"form": form, "customer": customer})

    form = CustomerForm(request.POST, organizations=organizations)
    status = 422
    if form.is_valid():
        try:
            customer_update(actor=request.user, customer=customer, values=form.service_values())
        except DomainError as error:
            apply_service_errors(form, error, field_map={"organization_id": "organization"})
            status = error.status
        else:
            messages.success(request, "Customer saved.")
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": customer}, status=status)


@login_required
@require_POST
def customer_identity_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_error(request, customer_id)
    if isinstance(customer, HttpResponse):
        return customer
    form = IdentityForm(request.POST, prefix="identity")
    if not form.is_valid():
        return _render_detail(request, customer, identity_form=form, status=422)
    try:
        identity = identity_add(actor=request.user, customer=customer, **form.cleaned_data)
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        apply_service_errors(form, error)
        return _render_detail(request, customer, identity_form=form, status=error.status)
    messages.success(request, f"Added {identity.get_kind_display().lower()} {identity.value}.")
    return redirect("customers:detail", customer.pk)


@login_required
@require_POST
def customer_identity_remove(request: HttpRequest, customer_id: int, identity_id: int) -> HttpResponse:
    customer = _customer_or_error(request, customer_id)
    if isinstance(customer, HttpResponse):
        return customer
    try:
        identity_remove(actor=request.user, customer=customer, identity_id=identity_id)
    except PermissionDenied as error:
        return _error_page(request, error)
    except DomainError as error:
        messages.error(request, error.message)
        return _render_detail(request, customer, status=error.status)
    messages.success(request, "Identity removed.")
    return redirect("customers:detail", customer.pk)


@login_required
@require_http_methods(["GET", "POST"])
def customer_merge_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Merge another customer (the source) into this one (the survivor): search, confirm, then merge."""
    target = _customer_or_error(request, customer_id)
    if isinstance(target, HttpResponse):
        return target
    try:
        require_access(request.user, AccessLevel.WRITE)
    except PermissionDenied as error:
        return _error_page(request, error)

    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            return render(request, "customers/merge_search.html", {"target": target, "form": form, "q": ""},
                          status=422)
        source = _customer_or_error(request, form.cleaned_data["source_id"])
        if isinstance(source, HttpResponse):
            return source
        try:
            customer_merge(actor=request.user, source=source, target=target)
        except PermissionDenied as error:
            return _error_page(request, error)
        except DomainError as error:
            apply_service_errors(form, error, field_map={"source_id": "source_id"})
            return render(request, "customers/merge_confirm.html",
                          {"target": target, "source": source, "form": form}, status=error.status)
        messages.success(request, f"{source.name} was merged into {target.name}.")
        return redirect("customers:detail", target.pk)

    source_id = request.GET.get("source")
    if source_id:
        form = MergeForm({"source_id": source_id})
        if not form.is_valid():
            return _error_page(request, ValidationFailed("Choose the customer to merge.",
                                                         fields={"source": "must be a customer id"}))
        source = _customer_or_error(request, form.cleaned_data["source_id"])
        if isinstance(source, HttpResponse):
            return source
        return render(request, "customers/merge_confirm.html", {"target": target, "source": source, "form": form})

    query = request.GET.get("q", "")
    context: dict[str, Any] = {"target": target, "q": query, "rows": [], "error": None}
    status = 200
    if query.strip():
        try:
            candidates = customer_search(actor=request.user, query=query).exclude(pk=target.pk)
            context["rows"] = _rows(list(candidates[:MERGE_CANDIDATES]))
        except DomainError as error:
            context["error"] = error
            status = error.status
    template = "customers/partials/merge_candidates.html" if request.htmx else "customers/merge_search.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
def customer_export_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The GDPR access document as a download."""
    customer = _customer_or_error(request, customer_id)
    if isinstance(customer, HttpResponse):
        return customer
    try:
        document = customer_export(actor=request.user, customer=customer)
    except DomainError as error:
        return _error_page(request, error)
    response = JsonResponse(document, encoder=DjangoJSONEncoder, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def customer_erase_view(request: HttpRequest, customer_id: int) -> HttpResponse:
    """GDPR erasure, admins only, after typing ERASE."""
    customer = _customer_or_error(request, customer_id)
    if isinstance(customer, HttpResponse):
        return customer
    try:
        require_access(request.user, AccessLevel.ADMIN)
    except PermissionDenied as error:
        return _error_page(request, error)
    if request.method == "GET":
        return render(request, "customers/erase_confirm.html", {"customer": customer, "form": EraseForm()})
    form = EraseForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            customer_erase(actor=request.user, customer=customer)
        except DomainError as error:
            apply_service_errors(form, error)
            status = error.status
        else:
            messages.success(request, f"Customer {customer.pk} was erased.")
            return redirect("customers:detail", customer.pk)
    return render(request, "customers/erase_confirm.html", {"customer": customer, "form": form}, status=status)


# --- organisations ---------------------------------------------------------------------------------------

@login_required
@require_GET
def organization_list_view(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    try:
        page = _keyset_page(organization_list(actor=request.user, query=query),
                            cursor=request.GET.get("cursor") or None, key="name", descending=False)
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "customers/organization_list.html",
                  {"organizations": page.items, "next_cursor": page.next_cursor, "q": query})


@login_required
@require_http_methods(["GET", "POST"])
def organization_create_view(request: HttpRequest) -> HttpResponse:
    try:
        require_access(request.user, AccessLevel.WRITE)
    except PermissionDenied as error:
        return _error_page(request, error)
    if request.method == "GET":
        return render(request, "customers/organization_form.html", {"form": OrganizationForm()})
    form = OrganizationForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            organization = organization_create(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            apply_service_errors(form, error)
            status = error.status
        else:
            messages.success(request, f"Organisation {organization.name} created.")
            return redirect("customers:organization_detail", organization.pk)
    return render(request, "customers/organization_form.html", {"form": form}, status=status)


@login_required
@require_GET
def organization_detail(request: HttpRequest, organization_id: int) -> HttpResponse:
    try:
        organization = organization_get_for(actor=request.user, organization_id=organization_id)
        page = _keyset_page(customer_search(actor=request.user).filter(organization_id=organization.pk),
                            cursor=request.GET.get("cursor") or None, key="id", descending=True)
    except DomainError as error:
        return _error_page(request, error)
    return render(request, "customers/organization_detail.html",
                  {"organization": organization, "rows": _rows(page.items), "next_cursor": page.next_cursor})
