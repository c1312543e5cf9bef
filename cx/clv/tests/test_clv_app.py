"""CLV through the paths people use: the Refit button and page, the API, the customer card, the dashboard
panel, the schedule, and the customer's data (export, merge, erasure)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.test import Client

from cx.clv.models import ClvModelFit, CustomerClv, FitStatus
from cx.clv.services import clv_refit, clv_refit_job
from cx.clv.tests.conftest import OBSERVATION_END, record_order
from cx.core.periodic import run_due_jobs
from cx.customers.services import customer_create, customer_erase, customer_export, customer_merge

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_refit_button_fits_the_models_and_the_page_shows_parameters_chart_and_top_customers(shop, admin_user):
    customers = shop()
    client = login(admin_user)
    response = client.post("/insights/clv/refit/", follow=True)
    assert response.status_code == 200
    fit = ClvModelFit.objects.get()
    assert fit.status == FitStatus.FITTED, fit.message
    assert fit.customers == len(customers) and fit.repeat_customers >= 20
    assert set(fit.bgnbd) == {"r", "alpha", "a", "b"} and fit.bgnbd_loglik < 0
    assert set(fit.gamma_gamma) == {"p", "q", "v"}
    html = response.content.decode()
    assert "Model refitted" in html
    assert 'data-clv-chart="clv-distribution-chart"' in html
    chart = json.loads(re.search(r'<script id="clv-distribution-chart" type="application/json">(.*?)</script>',
                                 html, re.S).group(1))
    assert sum(chart["data"]["datasets"][0]["data"]) == len(customers)
    assert "BG/NBD" in html and "Log-likelihood" in html and f"{fit.bgnbd_loglik:.1f}" in html
    top = CustomerClv.objects.order_by("-clv").first()
    assert top.customer.name in html
    assert CustomerClv.objects.count() == len(customers)
    assert all(0 < row.probability_alive <= 1 and row.expected_purchases >= 0 and row.clv >= 0
               for row in CustomerClv.objects.all())


def test_csv_export_matches_the_top_customers_on_screen(shop, admin_user):
    shop()
    clv_refit(actor=admin_user)
    client = login(admin_user)
    response = client.get("/insights/clv/?export=clv-top-customers")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["Customer", "CLV (90 days, discounted)"]
    top = CustomerClv.objects.order_by("-clv", "customer_id").first()
    assert rows[1][:2] == [top.customer.name, f"{top.clv:,.2f}"]
    page = client.get("/insights/clv/").content.decode()
    assert f"{top.clv:,.2f}" in page
    assert client.get("/insights/clv/?export=nope").status_code == 404


def test_too_little_data_gives_a_clear_message_everywhere_and_removes_stale_figures(shop, admin_user, api_client,
                                                                                     token_for):
    shop(n=60)
    clv_refit(actor=admin_user)
    assert CustomerClv.objects.exists()
    # The orders go away (e.g. the order event is renamed): the next fit cannot run and old figures disappear.
    from cx.journeys.models import Touchpoint
    Touchpoint.objects.filter(properties__event="Order Completed").exclude(
        id__in=Touchpoint.objects.order_by("id").values("id")[:30]).delete()
    client = login(admin_user)
    page = client.post("/insights/clv/refit/", follow=True).content.decode()
    assert "Not enough order data to fit the CLV model" in page and "the models need at least 20" in page
    assert not CustomerClv.objects.exists()
    assert 'data-clv-chart' not in page
    api = api_client(token_for(admin_user))
    response = api.post("/api/v1/clv/model/refit")
    assert response.status_code == 422
    assert response.json()["status"] == "not_enough_data"
    assert "need at least 20" in response.json()["message"]
    assert api.get("/api/v1/clv/model").json()["status"] == "not_enough_data"
    customer = customer_create(actor=admin_user, display_name="Nobody")
    assert api.get(f"/api/v1/clv/customers/{customer.pk}").status_code == 404
    card = client.get(f"/insights/clv/customers/{customer.pk}/").content.decode()
    assert "no data" in card and "need at least 20" in card
    panel = client.get("/insights/clv/panel/").content.decode()
    assert "no data" in panel


def test_empty_instance_page_and_api_say_not_fitted(admin_user, api_client, token_for):
    client = login(admin_user)
    html = client.get("/insights/clv/").content.decode()
    assert "has not been fitted yet" in html
    api = api_client(token_for(admin_user))
    assert api.get("/api/v1/clv/model").status_code == 404
    assert api.get("/api/v1/clv/customers").json() == {"items": [], "next_cursor": None, "ranked_by":
                                                        "expected_purchases"}
    fit = api.post("/api/v1/clv/model/refit")
    assert fit.status_code == 422 and "no customers with purchases" in fit.json()["message"]


def test_api_lists_customers_by_clv_with_cursor_and_shows_one(shop, admin_user, api_client, token_for):
    shop()
    api = api_client(token_for(admin_user, "read"))
    assert api.post("/api/v1/clv/model/refit").status_code == 403  # a read-only token cannot refit
    writer = api_client(token_for(admin_user))
    fitted = writer.post("/api/v1/clv/model/refit")
    assert fitted.status_code == 200 and fitted.json()["status"] == "fitted"
    model = api.get("/api/v1/clv/model").json()
    assert model["time_unit"] == "days" and model["bgnbd_loglik"] == pytest.approx(fitted.json()["bgnbd_loglik"])
    seen, cursor = [], None
    while True:
        page = api.get("/api/v1/clv/customers", **({"cursor": cursor} if cursor else {}), limit=25).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert page["ranked_by"] == "clv"
    assert len(seen) == CustomerClv.objects.count() == len({row["customer_id"] for row in seen})
    values = [row["clv"] for row in seen]
    assert values == sorted(values, reverse=True)
    one = api.get(f"/api/v1/clv/customers/{seen[0]['customer_id']}").json()
    assert one["clv"] == pytest.approx(seen[0]["clv"]) and one["horizon_days"] == 90
    bad = api.get("/api/v1/clv/customers", cursor="garbage!")
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == {"cursor": "malformed cursor"}
    assert api.get("/api/v1/clv/customers", limit=0).status_code == 422


def test_settings_change_the_horizon_and_discount_and_recompute(shop, admin_user, agent_user, api_client,
                                                               token_for):
    shop()
    clv_refit(actor=admin_user)
    customer_id = CustomerClv.objects.order_by("-clv").first().customer_id
    before = CustomerClv.objects.get(customer_id=customer_id)
    client = login(admin_user)
    response = client.post("/insights/clv/settings/", {"horizon_days": "365", "annual_discount_percent": "12",
                                                         "refit_every_hours": "12"}, follow=True)
    assert "CLV settings saved" in response.content.decode()
    after = CustomerClv.objects.get(customer_id=customer_id)
    assert after.fit.horizon_days == 365 and after.fit.annual_discount_rate == pytest.approx(0.12)
    assert after.expected_purchases > before.expected_purchases and after.clv > before.clv
    bad = client.post("/insights/clv/settings/", {"horizon_days": "0", "annual_discount_percent": "abc",
                                                  "refit_every_hours": "12"}, follow=True).content.decode()
    assert "horizon_days: from 1 to 3650" in bad and "annual_discount_percent: a number of percent" in bad
    api = api_client(token_for(admin_user, "admin"))
    refused = api.patch("/api/v1/clv/settings", {"annual_discount_percent": 150})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"annual_discount_percent": "from 0 to 100"}
    assert api.patch("/api/v1/clv/settings", {"color": "red"}).status_code == 422
    assert api.get("/api/v1/clv/settings").json() == {"horizon_days": 365, "annual_discount_percent": 12.0,
                                                      "refit_every_hours": 12}
    assert api_client(token_for(agent_user)).patch("/api/v1/clv/settings", {"horizon_days": 30}).status_code == 403


def test_customer_card_and_experience_panel_show_the_figures(shop, admin_user):
    customers = shop()
    clv_refit(actor=admin_user)
    client = login(admin_user)
    detail = client.get(f"/customers/{customers[0].pk}/").content.decode()
    assert f"/insights/clv/customers/{customers[0].pk}/" in detail  # the slot loads the card by htmx
    row = CustomerClv.objects.get(customer=customers[0])
    card = client.get(f"/insights/clv/customers/{customers[0].pk}/").content.decode()
    assert f"{row.expected_purchases:.2f}" in card and f"{row.clv:.2f}" in card
    assert "Probability alive" in card
    panel = client.get("/insights/clv/panel/").content.decode()
    assert 'data-clv-chart="clv-panel-chart"' in panel and "Top customers by CLV" in panel
    top = CustomerClv.objects.order_by("-clv", "customer_id")[:5]
    for r in top:
        assert r.customer.name in panel
    csv_text = client.get("/insights/clv/panel/?export=clv-panel-top-customers").content.decode()
    assert csv_text.splitlines()[1].split(",")[0] == top[0].customer.name
    assert client.get("/insights/clv/customers/999999/").status_code == 404


def test_slots_and_tab_are_registered():
    from cx.core.slots import slot_templates

    assert "clv/partials/customer_slot.html" in slot_templates("customer.detail.panels")
    assert "clv/partials/experience_slot.html" in slot_templates("insights.experience.panels")
    assert "clv/partials/tab.html" in slot_templates("insights.tabs")


def test_the_experience_slot_renders_with_the_dashboard_context(admin_user, rf):
    from django.template.loader import render_to_string

    request = rf.get("/insights/")
    request.user = admin_user
    html = render_to_string("clv/partials/experience_slot.html",
                            {"period_start": OBSERVATION_END - timedelta(days=30), "period_end": OBSERVATION_END,
                             "request": request})
    assert 'hx-get="/insights/clv/panel/"' in html


def test_analyst_reads_but_cannot_refit(shop, admin_user, analyst_user):
    shop(n=30)
    client = login(analyst_user)
    page = client.get("/insights/clv/").content.decode()
    assert "data-testid=\"clv-refit\"" not in page and "Annual discount rate" not in page
    assert client.post("/insights/clv/refit/").status_code == 403
    assert not ClvModelFit.objects.exists()


def test_schedule_refits_when_the_interval_has_passed(shop, admin_user, django_capture_on_commit_callbacks):
    shop()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_due_jobs(now=OBSERVATION_END, only={"clv.refit"}) == ["clv.refit"]
    fit = ClvModelFit.objects.get()
    assert fit.trigger == "schedule" and fit.status == FitStatus.FITTED
    with django_capture_on_commit_callbacks(execute=True):
        clv_refit_job(fit.fitted_at + timedelta(hours=2))  # interval (24 h) not passed: nothing new
    assert ClvModelFit.objects.count() == 1


def test_customer_data_export_merge_and_erasure(shop, admin_user):
    customers = shop()
    clv_refit(actor=admin_user)
    first, second = customers[0], customers[1]
    exported = customer_export(actor=admin_user, customer=first)
    assert exported["clv"][0]["orders"] == CustomerClv.objects.get(customer=first).orders
    customer_merge(actor=admin_user, source=second, target=first)
    assert not CustomerClv.objects.filter(customer__in=[first, second]).exists()
    clv_refit(actor=admin_user)
    merged = CustomerClv.objects.get(customer=first)
    assert merged.orders >= 2
    third = customers[2]
    customer_erase(actor=admin_user, customer=third)
    assert not CustomerClv.objects.filter(customer=third).exists()


def test_orders_without_amounts_still_give_purchases_but_no_money(db, admin_user):
    from cx.journeys.services import touchpoint_record

    for i in range(25):
        customer = customer_create(actor=admin_user, display_name=f"NoAmount {i}")
        for k in range(3):
            touchpoint_record(customer=customer, kind="order_completed", channel="web", stage="purchase",
                              occurred_at=OBSERVATION_END - timedelta(days=200 - 40 * k - i),
                              properties={"event": "Order Completed"}, source="test")
    fit = clv_refit(actor=admin_user, now=OBSERVATION_END)
    assert fit.status == FitStatus.FITTED and not fit.gamma_gamma
    assert any("Gamma-Gamma" in note for note in fit.notes)
    assert all(row.clv is None for row in CustomerClv.objects.all())
    assert record_order  # the helper stays importable for other tests


def test_demo_seed_gives_the_demo_shop_clv_figures(db):
    from cx.clv.demo import clv_demo_seed
    from cx.tracking.demo import tracking_demo_load

    for i in range(300):
        customer_create(actor=None, display_name=f"Demo {i}")
    tracking_demo_load(people=1200, seed=3, now=OBSERVATION_END)
    fit = clv_demo_seed()
    assert fit is not None and fit.status == FitStatus.FITTED, fit.message
    assert CustomerClv.objects.filter(frequency__gt=0).count() >= 20
    assert clv_demo_seed() is None  # a second run adds nothing
