"""Insights API: the dashboards' figures (the same selectors as the pages) and the digest subscription.

Query parameters as on the pages: period=7|30|90|custom with from/to (YYYY-MM-DD), agent, team, channel,
priority, breakdown (service) and hours (link). Durations are in seconds, rates in percent, missing figures
null ("no data"). Bad parameters are a 422 naming the field.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from cx.accounts.models import AccessLevel
from cx.insights import selectors, services
from cx.insights.period import breakdown_from, filters_from, hours_from, period_from

router = Router(tags=["insights"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


class SubscriptionOut(Schema):
    subscribed: bool


@router.get("/insights/service", response=dict[str, Any],
            summary="Service dashboard: KPIs vs the previous period, a breakdown and the agent leaderboard")
def service(request: HttpRequest):
    selectors.insights_access_check(actor=request.auth, token_scope=_scope(request))
    dashboard = selectors.service_dashboard(actor=request.auth, filters=filters_from(request.GET),
                                            period=period_from(request.GET), breakdown=breakdown_from(request.GET),
                                            token_scope=_scope(request))
    return dashboard.as_dict()


@router.get("/insights/experience", response=dict[str, Any],
            summary="Experience dashboard: NPS/CSAT/CES vs the previous period, weekly trends, heatmap, main funnel")
def experience(request: HttpRequest):
    selectors.insights_access_check(actor=request.auth, token_scope=_scope(request))
    return selectors.experience_dashboard(actor=request.auth, period=period_from(request.GET),
                                          token_scope=_scope(request)).as_dict()


@router.get("/insights/link", response=dict[str, Any],
            summary="Service ↔ experience: retention and repeat purchase by resolution speed, NPS by contacts, "
                    "churn by SLA breaches")
def link(request: HttpRequest):
    selectors.insights_access_check(actor=request.auth, token_scope=_scope(request))
    return selectors.link_report(actor=request.auth, period=period_from(request.GET), hours=hours_from(request.GET),
                                 token_scope=_scope(request)).as_dict()


@router.get("/insights/digest/subscription", response=SubscriptionOut, summary="Whether you get the weekly digest")
def subscription_get(request: HttpRequest):
    selectors.insights_access_check(actor=request.auth, token_scope=_scope(request))
    return {"subscribed": selectors.digest_subscribed(user=request.auth)}


@router.put("/insights/digest/subscription", response=SubscriptionOut, summary="Subscribe to the weekly digest")
def subscription_put(request: HttpRequest):
    services.digest_subscribe(actor=request.auth, token_scope=_scope(request))
    return {"subscribed": True}


@router.delete("/insights/digest/subscription", response=SubscriptionOut, summary="Unsubscribe from the digest")
def subscription_delete(request: HttpRequest):
    services.digest_unsubscribe(actor=request.auth, token_scope=_scope(request))
    return {"subscribed": False}
