"""Demo journeys: realistic, repeatable, and service quality shows in the analytics."""

from datetime import UTC, datetime, timedelta

import pytest

from cx.journeys import analytics as A
from cx.journeys.catalog import catalog_entries
from cx.journeys.store import store_engine
from cx.tracking.demo import tracking_demo_load

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_demo_journeys_tell_the_service_story_and_repeat_adds_nothing():
    first = tracking_demo_load(people=3000, seed=5, now=NOW)
    assert first["events"] > 3000 * 5
    assert tracking_demo_load(people=3000, seed=5, now=NOW)["events"] == 0
    start = int((NOW - timedelta(days=200)).timestamp() * 1000)
    end = int(NOW.timestamp() * 1000)
    entries = catalog_entries()
    with store_engine() as engine:
        support = A.friction_run(engine, entries, A.FrictionSpec(outcome="support", start_ms=start, end_ms=end,
                                                                 lookback_days=30, min_people=20))
        low = A.friction_run(engine, entries, A.FrictionSpec(outcome="low_score", start_ms=start, end_ms=end,
                                                             lookback_days=30, min_people=20))
        funnel = A.funnel_run(engine, A.FunnelSpec(
            steps=(A.FunnelStep("Ad Clicked"), A.FunnelStep("Signed Up"), A.FunnelStep("Order Completed")),
            start_ms=start, end_ms=end, window_seconds=60 * 86400, breakdown="utm_source"))
        journey_map = A.journey_map_run(engine, entries, start_ms=start, end_ms=end)
    top_support = [r["touchpoint"] for r in support["touchpoints"][:3]]
    assert {"Delayed delivery", "Bug", "Payment failure"} & set(top_support)
    lift = {r["touchpoint"]: r["lift"] for r in low["touchpoints"]}
    assert lift["Support contact"] > 1.2  # poor service shows up before low scores
    assert {r.breakdown for r in funnel.rows} == {"google", "facebook", "newsletter"}
    survey_cells = [c for c in journey_map if c["satisfaction"] is not None]
    assert survey_cells and all(c["department"] for c in journey_map)
