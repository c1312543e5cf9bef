"""The `cxdesk` console script, run as a real process the way an operator runs it.

Each test gets its own CXDESK_HOME (so its own SQLite file), or, when the suite runs on PostgreSQL, its own
freshly created PostgreSQL database that is dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.test_redis_channel_layer import redis_url  # noqa: F401 - fixture (a real redis-server)

REPO = Path(__file__).resolve().parents[1]
CXDESK = REPO / ".venv" / "bin" / "cxdesk"
PASSWORD = "correct-horse-battery-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def database_url():
    """None for SQLite (a file in CXDESK_HOME); on PostgreSQL a new, empty database for this test."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        yield None
        return
    import psycopg

    name = f"cxcli_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield urlunparse(urlparse(base)._replace(path=f"/{name}"))
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def home(tmp_path) -> Path:
    path = tmp_path / "cxdesk-home"
    path.mkdir()
    return path


@pytest.fixture
def cli_env(home, database_url) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXDESK_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update({"CXDESK_HOME": str(home), "CXDESK_TASKS": "database", "PYTHONUNBUFFERED": "1"})
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def cxdesk(env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120
           ) -> subprocess.CompletedProcess:
    return subprocess.run([str(CXDESK), *args], env=env, cwd=env["CXDESK_HOME"], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def _wait_for(predicate, *, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"cxdesk exited ({proc.returncode}) before {what}:\n{log.read_text() if log else ''}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text() if log else ''}")


def _http_status(url: str) -> int:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _smtp_greets(port: int) -> bool:
    import smtplib

    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            return client.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _command_of(pid: int) -> str:
    """Which of cxdesk's children a process is: daphne, db_worker, scheduler, imap_poller or smtp_listener."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return next(name for name in ("daphne", "db_worker", "scheduler", "imap_poller", "smtp_listener")
                if name in argv)


@pytest.fixture
def running(cli_env, home):
    """Start `cxdesk run` on a free port; yields (process, port, log path) once it says where to log in."""
    started: list[subprocess.Popen] = []

    def _start(*extra: str):
        port = _free_port()
        log = home / f"run-{port}.log"
        handle = log.open("w")
        proc = subprocess.Popen([str(CXDESK), "run", "--port", str(port), *extra], env=cli_env, cwd=home,
                                stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        started.append(proc)
        _wait_for(lambda: "Log in at" in log.read_text(), timeout=90, what="the login hint", proc=proc, log=log)
        return proc, port, log

    yield _start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["run", "worker", "createadmin", "demo", "cxdesk migrate"]),
        (("run",), ["--host", "--port", "--no-worker", "scheduler"]),
        (("worker",), ["db_worker"]),
        (("createadmin",), ["--username", "--email", "--password-file", "--initial"]),
        (("demo",), ["--customers", "--seed", "--data-dir", "--quiet"]),
    ],
)
def test_every_subcommand_explains_itself_with_help(cli_env, args, expected):
    result = cxdesk(cli_env, *args, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: cxdesk {' '.join(args)}".rstrip())
    for word in expected:
        assert word in result.stdout


def test_other_subcommands_are_django_management_commands(cli_env):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    shown = cxdesk(cli_env, "showmigrations", "accounts")
    assert shown.returncode == 0
    assert "[X] 0001_initial" in shown.stdout
    unknown = cxdesk(cli_env, "no-such-command")
    assert unknown.returncode == 1
    assert "Unknown command: 'no-such-command'" in unknown.stderr


def test_createadmin_creates_an_admin_who_can_log_in(cli_env, home):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    (home / "pw").write_text(PASSWORD + "\n")
    created = cxdesk(cli_env, "createadmin", "--username", "olga", "--email", "olga@example.com",
                     "--password-file", str(home / "pw"))
    assert created.returncode == 0, created.stderr
    assert "Created admin 'olga'" in created.stdout
    check = cxdesk(cli_env, "shell", "--verbosity", "0", "-c", (
        "from cx.accounts.models import User; u = User.objects.get(username='olga'); "
        f"print(u.role, u.is_superuser, u.is_staff, u.email, u.check_password('{PASSWORD}'))"
    ))
    assert check.stdout.split() == ["admin", "True", "True", "olga@example.com", "True"], check.stderr


def test_createadmin_reads_the_password_from_stdin(cli_env):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    created = cxdesk(cli_env, "createadmin", "--username", "piet", "--email", "piet@example.com",
                     "--password-file", "-", stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("--username", "OLGA", "--email", "other@example.com"), PASSWORD, "the username 'OLGA' is taken"),
        (("--username", "nils", "--email", "not-an-email"), PASSWORD, "invalid email 'not-an-email'"),
        (("--username", "nils", "--email", "nils@example.com"), "12345", "The password is too weak"),
        (("--username", "bad name", "--email", "nils@example.com"), PASSWORD, "invalid username 'bad name'"),
        (("--email", "nils@example.com"), PASSWORD, "--username is required"),
    ],
)
def test_createadmin_refuses_bad_input_with_one_clear_line(cli_env, home, args, password, message):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    (home / "pw").write_text(PASSWORD)
    first = cxdesk(cli_env, "createadmin", "--username", "olga", "--email", "olga@example.com",
                   "--password-file", str(home / "pw"))
    assert first.returncode == 0, first.stderr
    (home / "pw").write_text(password)
    result = cxdesk(cli_env, "createadmin", *args, "--password-file", str(home / "pw"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("cxdesk createadmin: error: ")
    assert message in result.stderr
    users = cxdesk(cli_env, "shell", "--verbosity", "0", "-c",
                   "from cx.accounts.models import User; print(User.objects.count())")
    assert users.stdout.strip() == "1"


def test_createadmin_without_a_password_source_off_a_terminal_is_a_usage_error(cli_env):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    result = cxdesk(cli_env, "createadmin", "--username", "nils", "--email", "nils@example.com", stdin="")
    assert result.returncode == 2
    assert "--password-file" in result.stderr


def test_the_first_admin_password_is_printed_once_and_kept_private(cli_env, home):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    first = cxdesk(cli_env, "createadmin", "--initial")
    assert first.returncode == 0, first.stderr
    password_file = home / "admin-password.txt"
    password = password_file.read_text().strip()
    assert len(password) >= 20
    assert f"password {password}" in first.stdout
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    second = cxdesk(cli_env, "createadmin", "--initial")
    assert second.returncode == 0
    assert password not in second.stdout + second.stderr
    assert password_file.read_text().strip() == password


def test_run_serves_http_and_stops_cleanly_on_ctrl_c(running, home):
    proc, port, log = running()
    assert _http_status(f"http://127.0.0.1:{port}/admin/login/") == 200
    assert _http_status(f"http://127.0.0.1:{port}/api/docs") == 200
    children = {_command_of(pid): pid for pid in _children(proc.pid)}
    assert set(children) == {"daphne", "db_worker", "scheduler", "imap_poller"}

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    output = log.read_text()
    password_file = home / "admin-password.txt"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert output.count(password) == 1  # printed once, when the admin was created
    assert f"Log in at http://127.0.0.1:{port}/ as admin; password in admin-password.txt" in output
    assert not _accepting(port)
    assert all(not Path(f"/proc/{pid}").exists() for pid in children.values())


def test_run_never_prints_an_existing_admin_password_again(running, home):
    proc, _port, log = running()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    password = (home / "admin-password.txt").read_text().strip()

    proc, _port, log = running("--no-worker")
    assert [_command_of(pid) for pid in _children(proc.pid)] == ["daphne"]  # the web server only
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert password not in log.read_text()
    assert "password in admin-password.txt" in log.read_text()


def test_run_stops_everything_and_fails_when_the_web_server_dies(running):
    proc, _port, log = running()
    children = _children(proc.pid)
    server = next(pid for pid in children if _command_of(pid) == "daphne")
    os.kill(server, signal.SIGKILL)
    assert proc.wait(timeout=30) != 0
    assert "the web server (daphne) was killed by SIGKILL; stopping the rest" in log.read_text()
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)


def test_run_says_so_when_the_port_is_taken(cli_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cxdesk(cli_env, "run", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_worker_passes_its_options_to_the_task_worker(cli_env):
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    result = cxdesk(cli_env, "worker", "--batch", "--no-startup-delay", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No more tasks to run" in result.stdout + result.stderr


def test_worker_explains_that_inline_tasks_need_no_worker(cli_env):
    result = cxdesk({**cli_env, "CXDESK_TASKS": "immediate"}, "worker")
    assert result.returncode == 2
    assert "CXDESK_TASKS=immediate" in result.stderr


def test_the_cli_also_runs_as_a_python_module(cli_env):
    result = subprocess.run([sys.executable, "-m", "config.cli", "demo", "--help"], env=cli_env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "--customers" in result.stdout


def test_run_starts_the_smtp_listener_when_a_port_is_set(running, cli_env, home):
    import smtplib
    from email.message import EmailMessage

    smtp_port = _free_port()
    cli_env["CXDESK_SMTP_LISTEN_PORT"] = str(smtp_port)
    assert cxdesk(cli_env, "migrate", "--verbosity", "0").returncode == 0
    created = cxdesk(cli_env, "shell", "--verbosity", "0", "-c",
                     "from cx.mail.models import Mailbox; Mailbox.objects.create(address='help@acme.test', "
                     "brand_name='Acme')")
    assert created.returncode == 0, created.stderr
    proc, _port, log = running()
    # A bare TCP accept is not enough: aiosmtpd binds before its self-check finishes, so wait for a greeting.
    _wait_for(lambda: _smtp_greets(smtp_port), timeout=60, what="the SMTP listener", proc=proc, log=log)
    assert "smtp_listener" in {_command_of(pid) for pid in _children(proc.pid)}
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "carla@example.org", "help@acme.test", "Hello by SMTP"
    message.set_content("It works")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.send_message(message)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    tickets = cxdesk(cli_env, "shell", "--verbosity", "0", "-c",
                     "from cx.tickets.models import Ticket; "
                     "print(list(Ticket.objects.values_list('subject', 'channel')))")
    assert "('Hello by SMTP', 'email')" in tickets.stdout


def test_several_web_processes_need_redis(cli_env):
    result = cxdesk({**cli_env, "CXDESK_WEB_PROCESSES": "2"}, "run", "--port", str(_free_port()))
    assert result.returncode == 1
    assert "CXDESK_WEB_PROCESSES above 1 needs REDIS_URL" in result.stderr


def test_run_starts_several_web_processes_on_one_port(running, cli_env, redis_url):  # noqa: F811
    cli_env.update({"CXDESK_WEB_PROCESSES": "2", "REDIS_URL": redis_url})
    proc, port, log = running("--no-worker")
    servers = [pid for pid in _children(proc.pid) if _command_of(pid) == "daphne"]
    assert len(servers) == 2
    assert "Serving with 2 web processes on one port." in log.read_text()
    # Both accept from the one listening socket; either may answer each request.
    assert all(_http_status(f"http://127.0.0.1:{port}/admin/login/") == 200 for _ in range(6))
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    assert not _accepting(port)
    assert all(not Path(f"/proc/{pid}").exists() for pid in servers)
