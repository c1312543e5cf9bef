"""CLV API: the model (parameters, log-likelihoods, status), refitting, settings and per-customer figures."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.clv import selectors, services
from cx.clv.models import ClvModelFit, ClvSettings, CustomerClv
from cx.clv.schemas import ClvModelOut, ClvSettingsIn, ClvSettingsOut, CustomerClvOut, CustomerClvPageOut
from cx.core.errors import NotFound
from cx.customers.selectors import customer_get_for

router = Router(tags=["clv"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def model_out(fit: ClvModelFit) -> dict:
    return {"id": fit.pk, "status": fit.status, "message": fit.message, "notes": fit.notes, "trigger": fit.trigger,
            "fitted_at": fit.fitted_at, "observation_end": fit.observation_end, "customers": fit.customers,
            "repeat_customers": fit.repeat_customers, "orders": fit.orders, "horizon_days": fit.horizon_days,
            "annual_discount_rate": fit.annual_discount_rate, "bgnbd": fit.bgnbd, "bgnbd_loglik": fit.bgnbd_loglik,
            "pareto_nbd": fit.pareto_nbd, "pareto_nbd_loglik": fit.pareto_nbd_loglik,
            "gamma_gamma": fit.gamma_gamma, "gamma_gamma_loglik": fit.gamma_gamma_loglik}


def customer_out(row: CustomerClv) -> dict:
    return {"customer_id": row.customer_id, "customer_name": row.customer.name, "fit_id": row.fit_id,
            "horizon_days": row.fit.horizon_days, "orders": row.orders, "frequency": row.frequency,
            "recency_days": row.recency_days, "age_days": row.age_days, "total_spend": row.total_spend,
            "average_repeat_spend": row.average_repeat_spend, "expected_purchases": row.expected_purchases,
            "probability_alive": row.probability_alive, "pareto_expected_purchases": row.pareto_expected_purchases,
            "pareto_probability_alive": row.pareto_probability_alive,
            "expected_average_spend": row.expected_average_spend, "clv": row.clv}


def settings_out(row: ClvSettings) -> dict:
    return {"horizon_days": row.horizon_days, "annual_discount_percent": round(row.annual_discount_rate * 100, 6),
            "refit_every_hours": row.refit_every_hours}


@router.get("/clv/model", response=ClvModelOut, summary="The latest CLV fit: status, parameters, log-likelihoods")
def model_get(request: HttpRequest):
    fit = selectors.latest_fit(actor=request.auth, token_scope=_scope(request))
    if fit is None:
        raise NotFound("The CLV model has not been fitted yet; POST /api/v1/clv/model/refit.")
    return model_out(fit)


@router.post("/clv/model/refit", response={200: ClvModelOut, 422: ClvModelOut},
             summary="Refit on the current orders (422 with the reason when the data cannot support a fit)")
def model_refit(request: HttpRequest):
    fit = services.clv_refit(actor=request.auth, trigger="api", token_scope=_scope(request))
    return Status(200 if fit.is_fitted else 422, model_out(fit))


@router.get("/clv/settings", response=ClvSettingsOut, summary="Horizon, discount rate and refit interval")
def settings_get(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return settings_out(services.clv_settings_get())


@router.patch("/clv/settings", response=ClvSettingsOut, summary="Change the CLV settings and recompute (admins)")
def settings_update(request: HttpRequest, payload: ClvSettingsIn):
    row = services.clv_settings_update(actor=request.auth, values=payload.model_dump(exclude_unset=True),
                                       token_scope=_scope(request))
    return settings_out(row)


@router.get("/clv/customers", response=CustomerClvPageOut, summary="Customers by CLV, highest first")
def customer_list(request: HttpRequest, cursor: str | None = None, limit: int = 50):
    page = selectors.customer_clv_page(actor=request.auth, cursor=cursor, limit=limit, token_scope=_scope(request))
    return {"items": [customer_out(row) for row in page.items], "next_cursor": page.next_cursor,
            "ranked_by": page.ranked_by}


@router.get("/clv/customers/{int:customer_id}", response=CustomerClvOut, summary="One customer's CLV figures")
def customer_get(request: HttpRequest, customer_id: int):
    customer = customer_get_for(actor=request.auth, customer_id=customer_id, token_scope=_scope(request))
    row = selectors.customer_clv_get_for(actor=request.auth, customer_id=customer.pk, token_scope=_scope(request))
    return customer_out(row)
