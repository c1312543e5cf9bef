"""CLV pages: the model page (distribution, top customers, parameters, settings, refit), the card on the
customer page and the panel on the experience dashboard (both loaded by htmx)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cx.clv import selectors, services
from cx.clv.models import ClvModelFit, CustomerClv
from cx.core.errors import DomainError
from cx.core.tables import Column, DataTable, table_export_response
from cx.core.views import render_domain_error
from cx.customers.selectors import customer_get_for

PARAMETER_LABELS = {
    "bgnbd": ("BG/NBD", ("r", "alpha", "a", "b")),
    "pareto_nbd": ("Pareto/NBD", ("r", "alpha", "s", "beta")),
    "gamma_gamma": ("Gamma-Gamma (spend)", ("p", "q", "v")),
}


def _customer_link(row: dict) -> str:
    return reverse("customers:detail", args=[row["customer_id"]])


def top_customers_table(rows: list[CustomerClv], fit: ClvModelFit | None, *, slug: str = "clv-top-customers",
                        compact: bool = False) -> DataTable:
    horizon = fit.horizon_days if fit else 90
    columns = [Column("customer", "Customer"), Column("clv", f"CLV ({horizon} days, discounted)", "money", True),
               Column("expected_purchases", f"Expected purchases ({horizon} days)", "float2", True),
               Column("probability_alive", "P(alive)", "ratio_pct", True)]
    if not compact:
        columns += [Column("orders", "Orders", "int", True), Column("total_spend", "Spend to date", "money", True),
                    Column("expected_average_spend", "Expected order value", "money", True),
                    Column("recency_days", "Last order (days after first)", "int", True),
                    Column("age_days", "Customer for (days)", "int", True)]
    data = [{"customer_id": r.customer_id, "customer": r.customer.name, "clv": r.clv,
             "expected_purchases": r.expected_purchases, "probability_alive": r.probability_alive,
             "orders": r.orders, "total_spend": r.total_spend, "expected_average_spend": r.expected_average_spend,
             "recency_days": r.recency_days, "age_days": r.age_days} for r in rows]
    note = "" if fit is None or fit.gamma_gamma else "No spend model: customers are ranked by expected purchases."
    return DataTable(slug, "Top customers by CLV", columns, data, note=note, links={"customer": _customer_link})


def parameters_table(fit: ClvModelFit | None) -> DataTable:
    rows = []
    if fit is not None and fit.is_fitted:
        for field, (label, names) in PARAMETER_LABELS.items():
            params = getattr(fit, field) or {}
            loglik = getattr(fit, f"{field}_loglik")
            for name in names:
                rows.append({"model": label, "parameter": name, "value": params.get(name), "loglik": loglik})
    return DataTable("clv-parameters", "Model parameters (time in days)",
                     [Column("model", "Model"), Column("parameter", "Parameter"),
                      Column("value", "Estimate", "float3", True), Column("loglik", "Log-likelihood", "float1", True)],
                     rows)


def distribution_table(bins: list[selectors.Bin]) -> DataTable:
    return DataTable("clv-distribution", "Customers per CLV band",
                     [Column("band", "CLV band"), Column("customers", "Customers", "int", True)],
                     [{"band": b.label, "customers": b.customers} for b in bins])


def distribution_chart(bins: list[selectors.Bin]) -> dict:
    return {"type": "bar",
            "data": {"labels": [b.label for b in bins],
                     "datasets": [{"label": "Customers", "data": [b.customers for b in bins],
                                   "backgroundColor": "#2563eb"}]},
            "options": {"plugins": {"legend": {"display": False}},
                        "scales": {"x": {"title": {"display": True, "text": "CLV"}},
                                   "y": {"beginAtZero": True, "title": {"display": True, "text": "Customers"}}}}}


def history_table(fits: list[ClvModelFit]) -> DataTable:
    return DataTable("clv-fits", "Recent fits",
                     [Column("fitted_at", "When", "datetime"), Column("status", "Outcome"),
                      Column("trigger", "Trigger"), Column("customers", "Customers", "int", True),
                      Column("repeat_customers", "With repeat purchases", "int", True),
                      Column("loglik", "BG/NBD log-likelihood", "float1", True), Column("message", "Message")],
                     [{"fitted_at": f.fitted_at, "status": f.get_status_display(), "trigger": f.trigger,
                       "customers": f.customers, "repeat_customers": f.repeat_customers, "loglik": f.bgnbd_loglik,
                       "message": f.message} for f in fits])


@login_required
@require_GET
def clv_page(request: HttpRequest) -> HttpResponse:
    try:
        fit = selectors.latest_fit(actor=request.user)
        top = selectors.top_customers(actor=request.user, limit=25)
        bins = selectors.clv_distribution(actor=request.user)
        fits = selectors.fit_history(actor=request.user)
    except DomainError as error:
        return render_domain_error(request, error, app="clv")
    tables = [top_customers_table(top, fit), parameters_table(fit), distribution_table(bins), history_table(fits)]
    return table_export_response(request, tables) or render(request, "clv/page.html", {
        "fit": fit, "tables": tables, "top_table": tables[0], "parameters": tables[1], "distribution": tables[2],
        "history": tables[3], "chart": distribution_chart(bins) if bins else None,
        "settings": services.clv_settings_get(),
        "discount_percent": services.clv_settings_get().annual_discount_rate * 100,
    })


def _error_text(error: DomainError) -> str:
    reasons = "; ".join(f"{name}: {reason}" for name, reason in error.fields.items())
    return f"{error.message} {reasons}".strip()


@login_required
@require_POST
def refit(request: HttpRequest) -> HttpResponse:
    try:
        fit = services.clv_refit(actor=request.user, trigger="manual")
    except DomainError as error:
        return render_domain_error(request, error, app="clv")
    if fit.is_fitted:
        messages.success(request, f"Model refitted. {fit.message}")
    else:
        messages.error(request, fit.message)
    return redirect("clv:page")


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    try:
        services.clv_settings_update(actor=request.user, values={
            "horizon_days": request.POST.get("horizon_days", ""),
            "annual_discount_percent": request.POST.get("annual_discount_percent", ""),
            "refit_every_hours": request.POST.get("refit_every_hours", "")})
    except DomainError as error:
        if error.status in (403, 404):
            return render_domain_error(request, error, app="clv")
        messages.error(request, _error_text(error))
        return redirect("clv:page")
    messages.success(request, "CLV settings saved and the figures recomputed.")
    return redirect("clv:page")


@login_required
@require_GET
def customer_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        customer = customer_get_for(actor=request.user, customer_id=customer_id)
        row = selectors.customer_clv_for(actor=request.user, customer_id=customer.pk)
        fit = selectors.latest_fit(actor=request.user)
    except DomainError as error:
        return render_domain_error(request, error, app="clv")
    return render(request, "clv/partials/customer_card.html", {"customer": customer, "row": row, "fit": fit})


@login_required
@require_GET
def experience_panel(request: HttpRequest) -> HttpResponse:
    try:
        fit = selectors.latest_fit(actor=request.user)
        top = selectors.top_customers(actor=request.user, limit=5)
        bins = selectors.clv_distribution(actor=request.user)
    except DomainError as error:
        return render_domain_error(request, error, app="clv")
    table = top_customers_table(top, fit, slug="clv-panel-top-customers", compact=True)
    return table_export_response(request, [table]) or render(request, "clv/partials/experience_panel.html", {
        "fit": fit, "top_table": table, "chart": distribution_chart(bins) if bins else None,
        "export_url": reverse("clv:page")})
