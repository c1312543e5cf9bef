"""Knowledge-base search and help-center pages at scale, in process (no network, no load client).

    .venv/bin/python benchmarks/kb_search.py --data ../shared/data/bitext_customer_support/train.csv
    .venv/bin/python benchmarks/kb_search.py --data ... --articles 50000 --database-url postgres://cx:cx@127.0.0.1:5504/cx

Loads --articles published articles (body = Bitext responses, cycled; titles = the intent plus a number) into a
fresh SQLite file in a temporary CXDESK_HOME (or the given PostgreSQL database, which it migrates and empties
of KB rows), then times, one request at a time:
- ``article_search`` (the database full-text selector) for --queries customer questions from the same file;
- the help-center search page and an article page through Django's test client (full view + template).
Prints a table of p50/p95/p99 in milliseconds and a last line of key=value figures.
"""

from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

# benchmarks/email.py is named as the issue asks; run as a script, this folder comes first on sys.path and
# would hide the standard library's email package (imported by http.client and Django), so drop it.
_sys.path[:] = [p for p in _sys.path if _Path(p or ".").resolve() != _Path(__file__).resolve().parent]

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="Bitext CSV (columns instruction,intent,response)")
    parser.add_argument("--articles", type=int, default=50000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with open(args.data, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("response") and r.get("instruction")]
    if not rows:
        raise SystemExit(f"{args.data}: no rows with instruction and response columns")

    home = tempfile.mkdtemp(prefix="cxdesk-kb-bench-")
    os.environ["CXDESK_HOME"] = home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CXDESK_TASKS"] = "immediate"
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from cx.kb.markdown import html_to_text, markdown_render
    from cx.kb.models import Article, Category, Section
    from cx.kb.selectors import article_search

    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)
    Article.objects.all().delete()
    Section.objects.all().delete()
    Category.objects.all().delete()
    category = Category.objects.create(name="Support", slug="support")
    section = Section.objects.create(category=category, name="All", slug="all")

    started = time.perf_counter()
    rendered: dict[str, tuple[str, str]] = {}
    batch: list[Article] = []
    for n in range(args.articles):
        row = rows[n % len(rows)]
        body = row["response"]
        if body not in rendered:
            html = markdown_render(body)
            rendered[body] = (html, html_to_text(html))
        html, text = rendered[body]
        title = f"{row['intent'].replace('_', ' ').capitalize()} {n}"
        batch.append(Article(section=section, locale="en", title=title, slug=f"a-{n}", body_markdown=body,
                             body_html=html, body_text=text, status="published"))
        if len(batch) == 2000:
            with transaction.atomic():
                Article.objects.bulk_create(batch)
            batch = []
    if batch:
        Article.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE kb_article")
    load_seconds = time.perf_counter() - started

    rng = random.Random(7)
    questions = [rng.choice(rows)["instruction"][:200] for _ in range(args.queries)]
    for q in questions[:20]:  # warm caches
        article_search(query=q, limit=10)

    timings: dict[str, list[float]] = {"article_search (top 10)": [], "help center search page": [],
                                       "help center article page": []}
    for q in questions:
        t0 = time.perf_counter()
        article_search(query=q, limit=10)
        timings["article_search (top 10)"].append((time.perf_counter() - t0) * 1000)
    client = Client()
    for q in questions[: max(50, args.queries // 5)]:
        t0 = time.perf_counter()
        response = client.get("/help/en/search/", {"q": q})
        timings["help center search page"].append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
    for n in rng.sample(range(args.articles), k=min(args.articles, max(50, args.queries // 5))):
        t0 = time.perf_counter()
        response = client.get(f"/help/en/support/a-{n}/")
        timings["help center article page"].append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code

    print(f"{args.articles} articles on {connection.vendor} (loaded in {load_seconds:.1f} s)")
    print("| operation | count | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    figures = {}
    for name, samples in timings.items():
        p50, p95, p99 = _percentiles(samples)
        print(f"| {name} | {len(samples)} | {p50:.1f} | {p95:.1f} | {p99:.1f} |")
        figures[name] = p95
    print(f"articles={args.articles} database={connection.vendor} "
          f"search_p95_ms={figures['article_search (top 10)']:.1f} "
          f"search_page_p95_ms={figures['help center search page']:.1f} "
          f"article_page_p95_ms={figures['help center article page']:.1f}")


if __name__ == "__main__":
    main()
