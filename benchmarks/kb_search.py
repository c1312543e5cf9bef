"""Knowledge-base search and help-center pages at scale, in process (no network, no load client).

    .venv/bin/python benchmarks/kb_search.py --data ../shared/data/bitext_customer_support/train.csv
    .venv/bin/python benchmarks/kb_search.py --data ... --articles 50000 --database-url postgres://cx:cx@127.0.0.1:5504/cx

Loads --articles published articles (body = Bitext responses, cycled; titles = the intent plus a number; spread
over 5 categories) into a fresh SQLite file in a temporary CXDESK_HOME (or the given PostgreSQL database, which it
migrates and empties of KB rows), indexes them in the hybrid engine the way the product does
(``kb_search_reindex``: the same documents and filters as the article services write), then times, one request
at a time:
- ``article_search`` (the selector every KB search goes through: help center, portal, agents) for --queries
  customer questions from the same file, unfiltered-public and limited to one category;
- the same selector with the question cut to a half-typed prefix (what instant suggestions send);
- the help-center search page, the instant-suggestions partial and an article page through Django's test
  client (full view + template).
Each operation is timed by wall clock and by the CPU time of this thread (``time.thread_time``): on a shared
machine the wall clock includes waiting for a core, the CPU time does not. Prints the load average, a table of
p50/p95/p99 in milliseconds and a last line of key=value figures.
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
    from cx.kb.services import kb_search_reindex
    from cx.search.models import SearchCollection

    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    call_command("migrate", verbosity=0, interactive=False)
    Article.objects.all().delete()
    SearchCollection.objects.filter(name="kb").delete()
    Section.objects.all().delete()
    Category.objects.all().delete()
    categories = [Category.objects.create(name=f"Support {n}", slug="support" if n == 0 else f"support-{n}")
                  for n in range(5)]
    sections = [Section.objects.create(category=category, name="All", slug="all") for category in categories]

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
        batch.append(Article(section=sections[n % len(sections)], locale="en", title=title, slug=f"a-{n}",
                             body_markdown=body, body_html=html, body_text=text, status="published"))
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
    started = time.perf_counter()
    indexed = kb_search_reindex(batch_size=2000)
    article_search(query="warm up the index", limit=10)  # builds the lexical index, loads the vectors
    index_seconds = time.perf_counter() - started

    rng = random.Random(7)
    questions = [rng.choice(rows)["instruction"][:200] for _ in range(args.queries)]
    for q in questions[:20]:  # warm caches
        article_search(query=q, limit=10)

    timings: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def timed(name: str, call) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        call()
        timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000)
        cpu.setdefault(name, []).append((time.thread_time() - c0) * 1000)

    load_before = os.getloadavg()
    for q in questions:
        timed("article_search (top 10)", lambda q=q: article_search(query=q, limit=10))
    category_id = categories[2].pk
    for q in questions:
        timed("article_search, one category (top 10)",
              lambda q=q: article_search(query=q, category_id=category_id, limit=10))
    prefixes = [q[: max(4, len(q) // 2)].rstrip() for q in questions]
    for q in prefixes:
        timed("article_search, half-typed (top 6)", lambda q=q: article_search(query=q, limit=6))
    client = Client()

    def page(url: str, params: dict | None = None) -> None:
        response = client.get(url, params or {})
        assert response.status_code == 200, (url, response.status_code)

    for q in questions[: max(50, args.queries // 5)]:
        timed("help center search page", lambda q=q: page("/help/en/search/", {"q": q}))
    for q in prefixes[: max(50, args.queries // 5)]:
        timed("help center suggestions", lambda q=q: page("/help/en/suggest/", {"q": q}))
    for n in rng.sample(range(args.articles), k=min(args.articles, max(50, args.queries // 5))):
        timed("help center article page", lambda n=n: page(f"/help/en/{categories[n % 5].slug}/a-{n}/"))
    load_after = os.getloadavg()

    print(f"{args.articles} articles on {connection.vendor} (loaded in {load_seconds:.1f} s, {indexed} indexed "
          f"in the hybrid engine in {index_seconds:.1f} s); load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f} (1 min) on {os.cpu_count()} cores")
    print("| operation | count | wall p50 ms | wall p95 ms | wall p99 ms | CPU p50 ms | CPU p95 ms | CPU p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    figures = {}
    for name, samples in timings.items():
        p50, p95, p99 = _percentiles(samples)
        c50, c95, c99 = _percentiles(cpu[name])
        print(f"| {name} | {len(samples)} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {c50:.1f} | {c95:.1f} | {c99:.1f} |")
        figures[name] = p95
        figures[name + " cpu"] = c95
    print(f"articles={args.articles} database={connection.vendor} "
          f"search_p95_ms={figures['article_search (top 10)']:.1f} "
          f"search_cpu_p95_ms={figures['article_search (top 10) cpu']:.1f} "
          f"search_page_p95_ms={figures['help center search page']:.1f} "
          f"article_page_p95_ms={figures['help center article page']:.1f}")


if __name__ == "__main__":
    main()
