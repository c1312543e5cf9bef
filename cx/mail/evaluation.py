"""`cxdesk eval email DIR`: parse every .eml under DIR the way the inbound pipeline does and say, per file,
whether it would become a ticket (parsed) or be set aside (rejected, with the reason). With a manifest.csv
that has a ``talon_expected_reply`` column, stripped replies are compared too. Needs no database."""

from __future__ import annotations

import argparse
import csv
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from cx.mail.parsing import TOO_DEEP, ParsedEmail, parse_message
from cx.mail.quotes import sanitize_html, strip_reply
from cx.mail.safety import archive_problem

DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ATTACHMENTS = 10


def rejection_reason(parsed: ParsedEmail, size: int) -> str | None:
    """Why the pipeline would not open or update a ticket with this message (default mailbox limits)."""
    if size > DEFAULT_MAX_MESSAGE_BYTES:
        return f"message too large: {size // 1024} KB"
    if TOO_DEEP in parsed.defects:
        return f"malformed: {TOO_DEEP} (a MIME bomb)"
    if parsed.is_complaint:
        return "spam complaint report (marks the address, opens no ticket)"
    if parsed.is_bounce:
        return f"delivery failure report for {', '.join(parsed.bounced_recipients) or 'an unknown address'}"
    try:
        validate_email(parsed.from_address)
    except ValidationError:
        return "malformed: no valid sender address in From"
    if len(parsed.attachments) > DEFAULT_MAX_ATTACHMENTS:
        return f"too many attachments: {len(parsed.attachments)}"
    for attachment in parsed.attachments:
        if len(attachment.payload) > DEFAULT_MAX_ATTACHMENT_BYTES:
            return f"attachment {attachment.filename!r} too large"
        problem = archive_problem(attachment.payload)
        if problem:
            return f"attachment {attachment.filename!r}: {problem}"
    return None


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))


def _expected_replies(directory: Path) -> dict[str, str]:
    manifest = directory / "manifest.csv"
    if not manifest.exists():
        return {}
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if "talon_expected_reply" not in (reader.fieldnames or []):
            return {}
        return {row["file"]: row["talon_expected_reply"] for row in reader
                if row.get("talon_expected_reply") and row.get("file")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", help="folder with .eml files (searched recursively)")


def run(options: dict[str, Any], out: TextIO) -> int:
    directory = Path(options["directory"])
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    files = sorted(p for p in directory.rglob("*.eml") if p.is_file())
    expected = _expected_replies(directory)
    parsed_count = rejected = crashed = matched = compared = 0
    started = time.perf_counter()
    out.write(f"{'file':<60} {'result':<9} detail\n")
    for path in files:
        name = str(path.relative_to(directory))
        try:
            raw = path.read_bytes()
            parsed = parse_message(raw)
            if parsed.html:
                sanitize_html(parsed.html)
            stripped = strip_reply(parsed.text)
            reason = rejection_reason(parsed, len(raw))
        except Exception as error:
            crashed += 1
            last = traceback.extract_tb(error.__traceback__)[-1]
            out.write(f"{name:<60} {'CRASHED':<9} {type(error).__name__}: {error} "
                      f"({Path(last.filename).name}:{last.lineno})\n")
            continue
        if reason:
            rejected += 1
            out.write(f"{name:<60} {'rejected':<9} {reason}\n")
        else:
            parsed_count += 1
            detail = (f"{len(parsed.text)} chars, {len(parsed.attachments)} attachments"
                      + (f", repaired: {', '.join(parsed.defects[:3])}" if parsed.defects else ""))
            out.write(f"{name:<60} {'parsed':<9} {detail}\n")
        if path.name in expected:
            compared += 1
            ok = _normalise(stripped.reply) == _normalise(expected[path.name])
            matched += ok
            if not ok:
                out.write(f"{'':<60} {'reply':<9} expected {expected[path.name]!r}, got {stripped.reply[:80]!r}\n")
    elapsed = time.perf_counter() - started
    out.write(f"# {len(files)} files in {elapsed:.2f} s\n")
    summary = f"parsed={parsed_count} rejected={rejected} crashed={crashed}"
    if compared:
        summary += f" reply_match={matched}/{compared}"
    out.write(summary + "\n")
    return 0


def handle(options: dict[str, Any], out: TextIO) -> None:
    """Entry point for ``cxdesk eval email``: bad arguments exit 2, crashed messages exit 1."""
    from django.core.management.base import CommandError

    from cx.core.evaluation import EvaluationInputError

    try:
        status = run(options, out)
    except ValueError as error:
        raise EvaluationInputError(str(error)) from None
    if status:
        raise CommandError("email evaluation: some messages crashed the parser", returncode=status)
