"""Speed of the public survey pages (no login): the one-click score link, the survey page and the answer
POST, measured in-process through Django's test client on a fresh database (SQLite by default, or
DATABASE_URL). Prints a table of latencies per request kind.

    python benchmarks/surveys_public.py --invitations 300
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invitations", type=int, default=300)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="cxdesk-bench-surveys-")
    os.environ.setdefault("CXDESK_HOME", home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CXDESK_TASKS"] = "immediate"
    os.environ["CXDESK_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    from cx.accounts.models import Role
    from cx.accounts.services import user_create
    from cx.customers.services import customer_create
    from cx.surveys import services

    admin = user_create(actor=None, username="bench-admin", email="b@example.test", password="x-long-password-1",
                        role=Role.ADMIN)
    policy = services.policy_get()
    policy.cooldown_days = 0
    policy.monthly_cap = 100
    policy.quiet_start = policy.quiet_end
    policy.loop_csat_max = -1
    policy.loop_negative_comment = False
    policy.save()
    survey = services.survey_create(actor=admin, values={"name": "Bench CSAT", "kind": "csat"})
    survey = services.survey_update(actor=admin, survey=survey, values={"status": "active"})
    tokens = []
    for n in range(args.invitations):
        customer = customer_create(actor=None, display_name=f"Bench {n}",
                                   identities=[{"kind": "email", "value": f"bench{n}@example.com"}])
        invitation = services.survey_invitation_create(survey=survey, customer=customer, channel="web")
        tokens.append(services.invitation_token(invitation))
    anything = survey.questions.get(position=2)
    client = Client()
    timings: dict[str, list[float]] = {"score click (records, 302)": [], "survey page (GET)": [],
                                       "answer (POST, 302)": []}
    for token in tokens:
        started = time.perf_counter()
        response = client.get(reverse("surveys:public_score", args=[token, 5]))
        timings["score click (records, 302)"].append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
        started = time.perf_counter()
        response = client.get(reverse("surveys:public", args=[token]))
        timings["survey page (GET)"].append(time.perf_counter() - started)
        assert response.status_code == 200
        started = time.perf_counter()
        response = client.post(reverse("surveys:public", args=[token]), {f"q{anything.pk}": ""})
        timings["answer (POST, 302)"].append(time.perf_counter() - started)
        assert response.status_code == 302
    print(f"{'request':<30} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in timings.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"{name:<30} {len(values):>6} {1000 * statistics.median(values):>8.1f} {1000 * p95:>8.1f} "
              f"{1000 * values[-1]:>8.1f}")


if __name__ == "__main__":
    main()
