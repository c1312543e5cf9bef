"""`createadmin`: create an admin account from the command line, or the first admin of a fresh install.

Errors are one line and exit with status 2 (a usage error), so scripts can tell them from crashes.
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from cx.accounts.models import Role, User
from cx.accounts.services import user_create
from cx.core.errors import DomainError

ADMIN_PASSWORD_FILENAME = "admin-password.txt"  # noqa: S105 - a file name, not a password
INITIAL_ADMIN_USERNAME = "admin"
INITIAL_ADMIN_EMAIL = "admin@cxdesk.localhost"
USAGE_ERROR = 2


def admin_password_path() -> Path:
    return Path(settings.CXDESK_HOME) / ADMIN_PASSWORD_FILENAME


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_ERROR)


def _one_line(exc: DomainError) -> str:
    details = "; ".join(f"{name}: {reason}" for name, reason in exc.fields.items())
    return f"{exc.message.rstrip('.')} ({details})" if details else exc.message


def _write_secret(path: Path, text: str) -> None:
    """Write a file only the owner can read, also when it already existed with looser permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class Command(BaseCommand):
    help = ("Create an admin account. With --initial: create the first admin 'admin' with a random password "
            "if no admin exists yet, otherwise do nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", help="login name of the new admin")
        parser.add_argument("--email", help="email address of the new admin (used for password resets)")
        parser.add_argument(
            "--password-file", metavar="FILE",
            help="read the password from FILE ('-' for standard input); without it the password is asked "
                 "twice on a terminal",
        )
        parser.add_argument(
            "--initial", action="store_true",
            help=f"if there is no admin yet, create '{INITIAL_ADMIN_USERNAME}' with a random password, print it "
                 f"once and save it to $CXDESK_HOME/{ADMIN_PASSWORD_FILENAME} (mode 0600)",
        )

    def handle(self, *args, **options) -> None:
        if options["initial"]:
            if options["username"] or options["email"] or options["password_file"]:
                raise _usage_error("--initial takes no --username, --email or --password-file")
            self.initial_admin_ensure()
            return
        username = (options["username"] or "").strip()
        email = (options["email"] or "").strip()
        if not username:
            raise _usage_error("--username is required")
        if not email:
            raise _usage_error("--email is required")
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise _usage_error(f"invalid username {username!r}: {' '.join(exc.messages)}") from None
        if len(username) > 150:
            raise _usage_error("invalid username: at most 150 characters")
        if User.objects.filter(username__iexact=username).exists():
            raise _usage_error(f"the username {username!r} is taken; choose another one")
        try:
            validate_email(email)
        except ValidationError:
            raise _usage_error(f"invalid email {email!r}: not a valid email address") from None
        password = self._password(options["password_file"])
        try:
            user_create(actor=None, username=username, email=email, password=password, role=Role.ADMIN,
                        is_superuser=True)
        except DomainError as exc:
            raise _usage_error(_one_line(exc)) from None
        self.stdout.write(f"Created admin {username!r}.")

    def _password(self, password_file: str | None) -> str:
        if password_file:
            try:
                from_stdin = password_file == "-"  # noqa: S105 - "-" means standard input
                raw = sys.stdin.read() if from_stdin else Path(password_file).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise _usage_error(f"cannot read the password file: {exc}") from None
            password = raw.rstrip("\r\n")
            if not password:
                raise _usage_error("the password file is empty")
            return password
        if not sys.stdin.isatty():
            raise _usage_error("no password: give --password-file FILE (or '-' for standard input) "
                               "when not running on a terminal")
        password = getpass.getpass("Password: ")
        if not password:
            raise _usage_error("the password must not be empty")
        if getpass.getpass("Password (again): ") != password:
            raise _usage_error("the two passwords do not match")
        return password

    def initial_admin_ensure(self) -> bool:
        """Create the first admin if there is none; print its password this once. True if created."""
        if User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True)).exists():
            return False
        if User.objects.filter(username__iexact=INITIAL_ADMIN_USERNAME).exists():
            raise _usage_error(f"there is no admin, but the username {INITIAL_ADMIN_USERNAME!r} is taken by a "
                               "non-admin; create one with: cxdesk createadmin --username U --email E")
        password = secrets.token_urlsafe(18)
        path = admin_password_path()
        with transaction.atomic():
            user_create(actor=None, username=INITIAL_ADMIN_USERNAME, email=INITIAL_ADMIN_EMAIL, password=password,
                        role=Role.ADMIN, is_superuser=True)
            # Written inside the transaction: if the file cannot be written, no admin with a lost password remains.
            _write_secret(path, password + "\n")
        self.stdout.write(
            f"Created the first admin account: username {INITIAL_ADMIN_USERNAME}, password {password}\n"
            f"This password is shown only now; it is saved in {display_path(path)} (readable only by you)."
        )
        return True
