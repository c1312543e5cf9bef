"""Parse and thread a folder of real emails with cxdesk and with django-helpdesk, on the same files.

    python benchmarks/email.py [DIR]          (default: ../shared/data/emails)

Each system runs in its own process with its own SQLite database: cxdesk through its full inbound pipeline
(``inbound_email_receive``: raw storage, parsing, sanitising, threading, ticket writes), django-helpdesk
through ``helpdesk.email.extract_email_metadata`` (what its ``get_email`` command runs per message). Every
corpus file is one inbound message; then, for every file that opened a ticket, three replies are built the way
mail clients write them and sent in again:

* ``in-reply-to``: In-Reply-To and References name the original;
* ``references``: In-Reply-To names a message the helpdesk never saw (the customer answered a colleague's
  copy), References still carries the original;
* ``token``: no threading headers at all (a webmail that drops them), only the system's own ticket token in
  the subject (cxdesk ``[#id]``, django-helpdesk ``[queue-id]``).

A reply is correctly threaded when it lands on the ticket its original opened. Prints a table and a last line
of ``key=value`` figures.
"""

from __future__ import annotations

import os
import sys

# This file is called email.py: run as a script, its folder comes first on sys.path and would hide the
# standard library's email package.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)

import json
import logging
import subprocess
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO.parent.parent / "shared" / "data" / "emails"
if not DEFAULT_DIR.exists():
    DEFAULT_DIR = Path("/work/shared/data/emails")
MAILBOX = "support@acme.test"
VARIANTS = ("in-reply-to", "references", "token")


def build_reply(*, original_id: str, original_subject: str, sender: str, variant: str, token: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    subject = original_subject if original_subject.lower().startswith("re:") else f"Re: {original_subject}"
    if variant == "token":
        subject = f"{subject} {token}"
    message["Subject"] = subject[:200]
    message["Message-ID"] = make_msgid(domain="customer.example")
    if variant == "in-reply-to":
        message["In-Reply-To"] = f"<{original_id}>"
        message["References"] = f"<{original_id}>"
    elif variant == "references":
        message["In-Reply-To"] = "<copy-sent-to-a-colleague@elsewhere.example>"
        message["References"] = f"<{original_id}> <copy-sent-to-a-colleague@elsewhere.example>"
    message.set_content(f"Any news on this?\n\nOn Monday you wrote:\n> {original_subject}\n")
    return message.as_bytes()


def _originals(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.eml") if p.is_file())


# --- cxdesk ------------------------------------------------------------------------------------------

def run_cxdesk(directory: Path) -> dict:
    home = tempfile.mkdtemp(prefix="cxdesk-bench-email-")
    os.environ.update({"CXDESK_HOME": home, "CXDESK_TASKS": "immediate", "DJANGO_SETTINGS_MODULE": "config.settings",
                       "CXDESK_LOG_LEVEL": "ERROR"})
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from cx.mail.models import Mailbox
    from cx.mail.parsing import parse_message
    from cx.mail.services import inbound_email_receive

    Mailbox.objects.create(address=MAILBOX, brand_name="Acme", sender_rate_limit=10_000)
    crashed = 0
    roots: list[tuple[str, str, str, int]] = []
    started = time.perf_counter()
    files = _originals(directory)
    for path in files:
        raw = path.read_bytes()
        try:
            row = inbound_email_receive(raw=raw, source="api", recipients=[MAILBOX])
        except Exception:
            crashed += 1
            continue
        if row.ticket_id and row.reason == "new ticket" and row.message_id:
            parsed = parse_message(raw)
            roots.append((row.message_id, parsed.subject or "(no subject)", row.from_address, row.ticket_id))
    threaded = dict.fromkeys(VARIANTS, 0)
    replies = 0
    for original_id, subject, sender, ticket_id in roots:
        for variant in VARIANTS:
            raw = build_reply(original_id=original_id, original_subject=subject, sender=sender, variant=variant,
                              token=f"[#{ticket_id}]")
            replies += 1
            try:
                row = inbound_email_receive(raw=raw, source="api", recipients=[MAILBOX])
            except Exception:
                crashed += 1
                continue
            threaded[variant] += row.ticket_id == ticket_id
    elapsed = time.perf_counter() - started
    return {"system": "cxdesk", "messages": len(files) + replies, "seconds": elapsed, "crashed": crashed,
            "tickets": len(roots), "threaded": threaded, "per_variant": len(roots)}


# --- django-helpdesk ---------------------------------------------------------------------------------

_HELPDESK_SETTINGS = """
SECRET_KEY = "benchmark-only"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.sites", "django.contrib.messages",
                  "django.contrib.humanize", "rest_framework", "helpdesk"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": %(db)r}}
SITE_ID = 1
USE_TZ = True
MEDIA_ROOT = %(media)r
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "hd_urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
HELPDESK_TEAMS_MODE_ENABLED = False  # else it needs pinax-teams
LOGGING_CONFIG = None
"""


def run_helpdesk(directory: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="helpdesk-bench-"))
    (work / "hd_settings.py").write_text(_HELPDESK_SETTINGS % {"db": str(work / "db.sqlite3"),
                                                               "media": str(work / "media")})
    (work / "hd_urls.py").write_text('from django.urls import include, path\n'
                                     'urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]\n')
    sys.path.insert(0, str(work))
    os.environ["DJANGO_SETTINGS_MODULE"] = "hd_settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import helpdesk.email as helpdesk_email
    from helpdesk.models import Queue

    from cx.mail.parsing import parse_message  # only to read back Message-IDs for building replies

    logging.disable(logging.CRITICAL)
    queue = Queue.objects.create(title="Support", slug="support", email_address=MAILBOX)
    logger = logging.getLogger("helpdesk-bench")
    crashed = 0
    roots: list[tuple[str, str, str, int]] = []
    files = _originals(directory)
    started = time.perf_counter()
    for path in files:
        raw = path.read_bytes()
        try:
            ticket = helpdesk_email.extract_email_metadata(raw.decode("utf-8", errors="replace"), queue, logger)
        except Exception:
            crashed += 1
            continue
        if ticket is not None:
            parsed = parse_message(raw)
            if parsed.message_id and parsed.from_address:
                roots.append((parsed.message_id, parsed.subject or "(no subject)", parsed.from_address, ticket.pk))
    threaded = dict.fromkeys(VARIANTS, 0)
    replies = 0
    for original_id, subject, sender, ticket_id in roots:
        for variant in VARIANTS:
            raw = build_reply(original_id=original_id, original_subject=subject, sender=sender, variant=variant,
                              token=f"[{queue.slug}-{ticket_id}]")
            replies += 1
            try:
                ticket = helpdesk_email.extract_email_metadata(raw.decode(), queue, logger)
            except Exception:
                crashed += 1
                continue
            threaded[variant] += ticket is not None and ticket.pk == ticket_id
    elapsed = time.perf_counter() - started
    return {"system": "django-helpdesk", "messages": len(files) + replies, "seconds": elapsed,
            "crashed": crashed, "tickets": len(roots), "threaded": threaded, "per_variant": len(roots)}


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] in ("--cxdesk", "--helpdesk"):
        directory = Path(sys.argv[2])
        result = run_cxdesk(directory) if sys.argv[1] == "--cxdesk" else run_helpdesk(directory)
        print("RESULT " + json.dumps(result))
        return 0
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    results = []
    for flag in ("--cxdesk", "--helpdesk"):
        done = subprocess.run([sys.executable, __file__, flag, str(directory)], capture_output=True, text=True,
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=1800)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(f"{flag[2:]} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        results.append(json.loads(line[len("RESULT "):]))
    print(f"corpus: {directory} ({len(_originals(directory))} files)")
    print(f"| system | messages | seconds | messages/s | crashed | originals (tickets with a Message-ID) | "
          f"{' | '.join(f'threaded: {v}' for v in VARIANTS)} | threaded total |")
    print("|---|---|---|---|---|---|" + "---|" * len(VARIANTS) + "---|")
    figures = []
    for r in results:
        total = sum(r["threaded"].values())
        rate = r["messages"] / r["seconds"] if r["seconds"] else 0.0
        cells = " | ".join(f"{r['threaded'][v]}/{r['per_variant']}" for v in VARIANTS)
        print(f"| {r['system']} | {r['messages']} | {r['seconds']:.2f} | {rate:.1f} | {r['crashed']} | "
              f"{r['tickets']} | {cells} | {total}/{r['per_variant'] * len(VARIANTS)} |")
        key = "cxdesk" if r["system"] == "cxdesk" else "helpdesk"
        figures += [f"{key}_msgs_per_s={rate:.1f}", f"{key}_crashed={r['crashed']}",
                    f"{key}_threaded={total}/{r['per_variant'] * len(VARIANTS)}"]
    print(" ".join(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
