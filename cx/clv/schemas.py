"""API shapes for CLV. In-schemas refuse unknown fields; value checks are in the services."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict


class ClvSettingsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    horizon_days: int | None = Field(None, description="Days ahead that expected purchases and CLV cover (1-3650).")
    annual_discount_percent: float | None = Field(None, description="Annual discount rate in percent (0-100).")
    refit_every_hours: int | None = Field(None, description="Hours between scheduled refits (1-744).")


class ClvSettingsOut(Schema):
    horizon_days: int
    annual_discount_percent: float
    refit_every_hours: int


class ClvModelOut(Schema):
    id: int
    status: str = Field(description="fitted, not_enough_data or failed")
    message: str
    notes: list[str]
    trigger: str
    fitted_at: datetime
    observation_end: datetime
    customers: int
    repeat_customers: int
    orders: int
    horizon_days: int
    annual_discount_rate: float
    time_unit: str = "days"
    bgnbd: dict[str, float]
    bgnbd_loglik: float | None
    pareto_nbd: dict[str, float]
    pareto_nbd_loglik: float | None
    gamma_gamma: dict[str, float]
    gamma_gamma_loglik: float | None


class CustomerClvOut(Schema):
    customer_id: int
    customer_name: str
    fit_id: int
    horizon_days: int
    orders: int
    frequency: int
    recency_days: float
    age_days: float = Field(description="T: days from the first order to the end of observation")
    total_spend: float
    average_repeat_spend: float | None
    expected_purchases: float
    probability_alive: float
    pareto_expected_purchases: float | None
    pareto_probability_alive: float | None
    expected_average_spend: float | None
    clv: float | None


class CustomerClvPageOut(Schema):
    items: list[CustomerClvOut]
    next_cursor: str | None
    ranked_by: str
