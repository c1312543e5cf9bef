"""`demo`: fill the database with a believable demo company (deterministic per seed, safe to repeat)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from cx.demo.catalog import COMPANY_NAME, COMPANY_PITCH, DEMO_AGENTS
from cx.demo.services import DEFAULT_CUSTOMERS, DEFAULT_SEED, DEMO_PASSWORD, DemoResult, demo_load
from cx.tracking.demo import DEFAULT_PEOPLE

MAX_CUSTOMERS = 200_000
ADMIN_PASSWORD_FILENAME = "admin-password.txt"  # noqa: S105 - the file `createadmin --initial` writes


def _customer_count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if not 0 <= number <= MAX_CUSTOMERS:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_CUSTOMERS}, got {number}")
    return number


def _seed(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class Command(BaseCommand):
    help = (f"Fill the database with a demo company ({COMPANY_NAME}: agents, teams, organisations, customers "
            "and 18 months of journeys). The same seed gives the same data; running it again adds nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=_customer_count, default=DEFAULT_CUSTOMERS, metavar="N",
                            help=f"how many customers to create (default {DEFAULT_CUSTOMERS})")
        parser.add_argument("--seed", type=_seed, default=DEFAULT_SEED, metavar="S",
                            help=f"random seed; the same seed gives the same data (default {DEFAULT_SEED})")
        parser.add_argument("--data-dir", type=Path, default=None, metavar="PATH",
                            help="folder with banking77/train.csv and bitext_customer_support/train.csv for real "
                                 "support questions (default: CXDESK_DATA_DIR); without them a built-in sample "
                                 "is used")
        parser.add_argument("--journeys", type=_customer_count, default=DEFAULT_PEOPLE, metavar="N",
                            help=f"tracked people with website/app journeys (default {DEFAULT_PEOPLE})")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args, **options) -> None:
        customers: int = options["customers"]
        seed: int = options["seed"]
        data_dir: Path = options["data_dir"] or settings.CXDESK_DATA_DIR
        self.stdout.write(f"Loading the demo company {COMPANY_NAME}, {COMPANY_PITCH} "
                          f"(seed {seed}, {customers} customers)...")
        call_command("createadmin", initial=True, stdout=self.stdout, stderr=self.stderr)
        show_bar = not options["quiet"] and sys.stderr.isatty()
        with tqdm(total=customers, unit="customer", file=sys.stderr, disable=not show_bar) as bar:
            result = demo_load(customers=customers, seed=seed, data_dir=data_dir, progress=bar.update,
                               journeys=options["journeys"])
        self._report(result)

    def _report(self, result: DemoResult) -> None:
        write = self.stdout.write
        write(
            f"Demo data ready in {result.seconds:.1f} s. Created {result.agents_created} agents, "
            f"{result.teams_created} teams, {result.organizations_created} organisations, "
            f"{result.customers_created} customers with {result.touchpoints_created} touchpoints; "
            f"{result.customers_existing} customers were already there."
        )
        if result.journeys:
            write(f"Journeys: {result.journeys['people']} tracked people, {result.journeys['events']} new events "
                  f"({result.journeys['linked_customers']} people linked to helpdesk customers).")
        if result.customers_conflicting:
            write(f"Skipped {result.customers_conflicting} demo customers whose email or phone already belongs "
                  "to another customer.")
        write(f"Support questions from: {result.question_source}.")
        if result.used_sample:
            write(f"(No banking77 or bitext_customer_support train.csv in {result.data_dir}; "
                  "used the built-in sample. Point --data-dir or CXDESK_DATA_DIR at them for real texts.)")
        write("")
        write(f"DEMO ONLY - these agents all have the password {DEMO_PASSWORD} "
              "(never load demo data into a real installation):")
        roles = {"team_lead": "team lead", "agent": "agent", "analyst": "analyst (read-only)"}
        for username, _first, _last, role, team, _lead in DEMO_AGENTS:
            write(f"  {username:<14} {roles[role]}, {team}")
        password_file = Path(settings.CXDESK_HOME) / ADMIN_PASSWORD_FILENAME
        if password_file.exists():
            write(f"Admin: log in as admin; password in {_shown(password_file)}")
        else:
            write("Admin: log in with your existing admin account.")
