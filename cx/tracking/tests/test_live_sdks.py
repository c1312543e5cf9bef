"""The real Segment and RudderStack Python SDKs (gzip on) against a live cxdesk on 127.0.0.1."""

import json
import threading
import time

import pytest
import requests

from cx.tracking.tests.live import LiveCxdesk


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveCxdesk(tmp_path_factory.mktemp("live-tracking"))
    server.write_key = server.prepare()
    server.start()
    yield server
    server.stop()


def test_segment_sdk_events_arrive_once_and_identify_merges(live):
    from segment.analytics.client import Client

    errors = []
    client = Client(write_key=live.write_key, host=live.url, gzip=True, max_retries=1,
                    on_error=lambda error, items: errors.append(error))
    client.page(anonymous_id="anon-seg-1", name="Pricing", properties={"path": "/pricing"})
    client.track(anonymous_id="anon-seg-1", event="Signup Started", properties={"plan": "pro"})
    client.identify(user_id="seg-user-1", anonymous_id="anon-seg-1",
                    traits={"email": "Seg.User@Example.test", "name": "Seg User"})
    client.track(user_id="seg-user-1", event="Order Completed", properties={"total": 42.5})
    client.flush()
    client.join()
    assert errors == []
    live.load()
    rows = live.fetch("SELECT event, person_id, customer_id FROM analytics_events WHERE source LIKE 'src:%' "
                      "AND person_id IN (SELECT person_id FROM analytics_events WHERE event = 'Order Completed') "
                      "ORDER BY ts_ms")
    assert [r[0] for r in rows] == ["page", "Signup Started", "Order Completed"]
    # The anonymous visit merged into the identified person, who is linked to a helpdesk customer by email.
    assert len({r[1] for r in rows}) == 1
    assert rows[0][2] is not None and len({r[2] for r in rows}) == 1
    customer = live.fetch_django(
        "from cx.customers.models import CustomerIdentity as I; i = I.objects.get(value='seg.user@example.test'); "
        "from cx.journeys.models import Touchpoint as T; "
        "print(i.customer.display_name, sorted(T.objects.filter(customer=i.customer).values_list('kind', flat=True)))")
    assert customer == "Seg User ['order_completed', 'page.viewed', 'signup_started']"


def test_rudder_sdk_events_arrive(live):
    from rudderstack.analytics.client import Client

    errors = []
    client = Client(write_key=live.write_key, host=live.url, gzip=True, max_retries=1,
                    on_error=lambda error, items: errors.append(error))
    for i in range(250):
        client.track(user_id=f"rudder-{i % 7}", event="Feature Used", properties={"n": i})
    client.screen(user_id="rudder-1", name="Settings")
    client.flush()
    client.join()
    assert errors == []
    live.load()
    counts = live.fetch("SELECT event, COUNT(*), COUNT(DISTINCT message_id) FROM analytics_events "
                        "WHERE event IN ('Feature Used', 'screen') GROUP BY event ORDER BY event")
    assert counts == [("Feature Used", 250, 250), ("screen", 1, 1)]


def test_live_limits_and_errors(live):
    url = f"{live.url}/v1/batch"
    assert requests.post(url, json={"batch": [{"type": "track", "userId": "u", "event": "x"}]},
                         timeout=10).status_code == 401
    assert requests.post(url, json={"batch": [{"type": "track", "userId": "u", "event": "x"}]},
                         auth=("wk_wrong", ""), timeout=10).status_code == 401
    big = {"batch": [{"type": "track", "userId": "u", "event": "x", "properties": {"b": "y" * 20_000}}] * 30}
    assert requests.post(url, json=big, auth=(live.write_key, ""), timeout=10).status_code == 413
    bad = requests.post(url, data=b"{oops", auth=(live.write_key, ""), timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    mixed = requests.post(url, json={"batch": [{"type": "track", "userId": "u", "event": "ok", "messageId": "ok-1"},
                                               {"type": "track", "event": "no id"}]},
                          auth=(live.write_key, ""), timeout=10)
    assert mixed.status_code == 200 and mixed.json()["accepted"] == 1
    assert mixed.json()["rejected"][0]["fields"] == {"userId": "userId or anonymousId is required"}


def test_crash_loses_no_acknowledged_event_and_doubles_none(tmp_path):
    """A load client sends batches; the server is SIGKILLed mid-run (and a loader too); after a restart every
    event that got a 200 is in the store exactly once."""
    server = LiveCxdesk(tmp_path)
    key = server.prepare()
    server.start()
    acked: set[str] = set()
    stop = threading.Event()
    session = requests.Session()
    counter = {"n": 0}

    def send() -> None:
        while not stop.is_set():
            counter["n"] += 1
            batch = [{"type": "track", "anonymousId": f"anon-{counter['n'] % 50}", "event": "Load Test",
                      "messageId": f"crash-{counter['n']}-{j}", "properties": {"j": j}} for j in range(50)]
            try:
                response = session.post(f"{server.url}/v1/batch", data=json.dumps({"batch": batch}),
                                        auth=(key, ""), timeout=5, headers={"Content-Type": "application/json"})
            except requests.RequestException:
                time.sleep(0.05)
                continue
            if response.status_code == 200:
                acked.update(m["messageId"] for m in batch)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        time.sleep(1.5)
        server.load()  # a loader run while traffic flows
        time.sleep(1.0)
        server.kill()  # SIGKILL mid-run
        before_restart = len(acked)
        time.sleep(0.3)
        server.start()
        time.sleep(1.5)
    finally:
        stop.set()
        sender.join(timeout=10)
        server.stop()
    assert before_restart > 0 and len(acked) > before_restart
    server.load()
    rows = server.fetch("SELECT message_id, COUNT(*) FROM analytics_events WHERE event = 'Load Test' "
                        "GROUP BY message_id")
    counts = dict(rows)
    assert acked <= set(counts), f"{len(acked - set(counts))} acknowledged events lost"
    assert max(counts.values()) == 1
