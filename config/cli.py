"""The `cxdesk` command line.

`cxdesk run` serves everything (migrate, first admin, daphne for HTTP + WebSocket, a task worker, the
periodic-job scheduler, the IMAP poller and — when CXDESK_SMTP_LISTEN_PORT is set — the inbound SMTP listener);
`cxdesk worker`, `cxdesk createadmin` and `cxdesk demo` do one job each. Any other subcommand is a Django
management command (`cxdesk migrate`, `cxdesk shell`, `cxdesk help`, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from config.env import env_bool, env_int, env_str

OWN_COMMANDS = ("run", "worker", "createadmin", "demo")
STOP_TIMEOUT = 8.0  # seconds a child gets to stop after SIGTERM before it is killed
POLL_INTERVAL = 0.2


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {port}")
    return port


def _django_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser for cxdesk's own subcommands (and each subcommand's parser, for its error messages).

    createadmin and demo take their options from the management commands, so both spellings agree.
    """
    from cx.accounts.management.commands.createadmin import Command as CreateAdmin
    from cx.demo.management.commands.demo import Command as Demo

    parser = argparse.ArgumentParser(
        prog="cxdesk",
        description="cxdesk: self-hosted customer service and customer experience platform.",
        epilog="Any other command is passed to Django: cxdesk migrate, cxdesk shell, cxdesk help (lists them all).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", help="migrate, ensure an admin, serve HTTP + WebSocket, run a task worker and the scheduler",
        description="Apply migrations, create the first admin if there is none (its password goes to "
                    "$CXDESK_HOME/admin-password.txt), then serve HTTP and WebSocket with daphne, run a task "
                    "worker and the periodic-job scheduler. Ctrl-C (or SIGTERM) stops them all.",
    )
    run.add_argument("--host", default=env_str("CXDESK_HOST"),
                     help="address to listen on (default: CXDESK_HOST, %(default)s)")
    run.add_argument("--port", type=_port, default=env_int("CXDESK_PORT"),
                     help="port to listen on (default: CXDESK_PORT, %(default)s)")
    run.add_argument("--no-worker", action="store_true",
                     help="web server only: no task worker and no scheduler (run `cxdesk worker` and "
                          "`cxdesk scheduler` elsewhere)")

    worker = commands.add_parser(
        "worker", help="run the background task worker",
        description="Run the database task worker (django-tasks-db db_worker). Extra options are passed to it, "
                    "e.g. --queue-name '*' or --batch; `cxdesk db_worker --help` lists them.",
    )

    createadmin = commands.add_parser("createadmin", help="create an admin account", description=CreateAdmin.help)
    CreateAdmin().add_arguments(createadmin)

    demo = commands.add_parser("demo", help="load a believable demo company", description=Demo.help)
    Demo().add_arguments(demo)
    return parser, {"run": run, "worker": worker, "createadmin": createadmin, "demo": demo}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _django_setup()
    except (ValueError, OSError) as exc:
        # Settings read the environment; a bad value is a configuration error, not a crash.
        print(f"cxdesk: configuration error: {exc}", file=sys.stderr)
        return 2
    if argv and argv[0] not in OWN_COMMANDS and argv[0] not in {"-h", "--help"}:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["cxdesk", *argv])
        return 0
    parser, subparsers = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if extra and args.command != "worker":
        subparsers[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    from django.core.management.base import CommandError
    from django.db import DatabaseError

    try:
        if args.command == "run":
            return _run(host=args.host, port=args.port, worker=not args.no_worker)
        if args.command == "worker":
            return _worker(extra)
        if args.command == "createadmin":
            return _call("createadmin", username=args.username, email=args.email,
                         password_file=args.password_file, initial=args.initial)
        return _demo(args)
    except CommandError as exc:
        print(f"cxdesk {args.command}: error: {exc}", file=sys.stderr)
        return exc.returncode
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"cxdesk {args.command}: error: database problem: {first_line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cxdesk {args.command}: interrupted", file=sys.stderr)
        return 130


def _call(name: str, **options) -> int:
    from django.core.management import call_command

    call_command(name, **options)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    print("Applying database migrations...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    return _call("demo", customers=args.customers, seed=args.seed, data_dir=args.data_dir, quiet=args.quiet)


def _tasks_run_inline() -> bool:
    return env_str("CXDESK_TASKS") == "immediate"


def _worker(extra: list[str]) -> int:
    if _tasks_run_inline():
        print("cxdesk worker: error: CXDESK_TASKS=immediate runs tasks inline, so there is nothing for a worker "
              "to do; set CXDESK_TASKS=database", file=sys.stderr)
        return 2
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cxdesk", "db_worker", *extra])
    return 0


# --- cxdesk run -------------------------------------------------------------------------------------


@dataclass
class _Child:
    name: str
    process: subprocess.Popen


def _browser_host(host: str) -> str:
    """The address to print and to probe: a wildcard bind is reached through loopback."""
    if host in {"", "0.0.0.0"}:  # noqa: S104 - comparing, not binding
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _url(host: str, port: int) -> str:
    shown = _browser_host(host)
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound, or None. Checked up front so the error is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _watch_serving(host: str, port: int) -> threading.Event:
    """An event set once a web server answers HTTP on the port. A bare TCP connect is not enough: `cxdesk
    run` listens on the port itself, so connections queue before any daphne process is up. One request at
    a time waits for the answer (abandoned requests would only delay daphne's start and stop)."""
    serving = threading.Event()

    def probe() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection(_browser_host(host), port, timeout=120)
            try:
                connection.request("HEAD", "/")
                connection.getresponse()
                serving.set()
                return
            except (OSError, http.client.HTTPException):
                time.sleep(POLL_INTERVAL)
            finally:
                connection.close()

    threading.Thread(target=probe, name="cxdesk-run-probe", daemon=True).start()
    return serving


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, a hook run in each child before exec so it gets SIGTERM if `cxdesk run` itself is killed.

    libc is loaded here, in the parent: loading a library between fork and exec is not safe.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG

    return hook


def _start(name: str, command: list[str], env: dict[str, str], pass_fds: tuple[int, ...] = ()) -> _Child:
    # Own process group: Ctrl-C reaches only `cxdesk run`, which then stops each child once, in order.
    process = subprocess.Popen(  # noqa: S603 - fixed argv built from our own settings, no shell
        command, env=env, process_group=0, preexec_fn=_die_with_parent_hook(), pass_fds=pass_fds,
    )
    return _Child(name=name, process=process)


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    """The web port, bound and listening, for the daphne processes to share (``daphne --fd``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(max(1, backlog))
    listener.set_inheritable(True)
    return listener


def _stop(children: list[_Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"cxdesk run: the {child.name} did not stop within {STOP_TIMEOUT:.0f} s; killing it",
                  file=sys.stderr, flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def _how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _login_hint(url: str) -> str:
    from cx.accounts.management.commands.createadmin import (
        INITIAL_ADMIN_USERNAME,
        admin_password_path,
        display_path,
    )

    password_file = admin_password_path()
    if password_file.exists():
        return f"Log in at {url} as {INITIAL_ADMIN_USERNAME}; password in {display_path(password_file)}"
    return f"Log in at {url} with your admin account."


def _run(*, host: str, port: int, worker: bool) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    problem = _port_in_use(host, port)
    if problem:
        print(f"cxdesk run: error: cannot listen on {host}:{port}: {problem}", file=sys.stderr)
        return 1
    smtp_host, smtp_port = env_str("CXDESK_SMTP_LISTEN_HOST"), env_int("CXDESK_SMTP_LISTEN_PORT")
    if smtp_port:
        problem = _port_in_use(smtp_host, smtp_port)
        if problem:
            print(f"cxdesk run: error: cannot listen for SMTP on {smtp_host}:{smtp_port}: {problem}",
                  file=sys.stderr)
            return 1
    print("Applying database migrations...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createadmin", initial=True)
    connections.close_all()  # the children open their own connections
    # Static files are served from the app folders (WhiteNoise finders); an existing STATIC_ROOT keeps
    # WhiteNoise from warning about a missing directory on every start.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "CXDESK_HOME": str(settings.CXDESK_HOME),
                "CXDESK_DATA_DIR": str(settings.CXDESK_DATA_DIR), "PYTHONUNBUFFERED": "1"})
    web_processes = env_int("CXDESK_WEB_PROCESSES")
    if web_processes < 1:
        print("cxdesk run: error: CXDESK_WEB_PROCESSES must be 1 or more", file=sys.stderr)
        return 1
    if web_processes > 1 and not env_str("REDIS_URL"):
        print("cxdesk run: error: CXDESK_WEB_PROCESSES above 1 needs REDIS_URL: the in-memory channel layer "
              "cannot carry live chat and ticket events between processes", file=sys.stderr)
        return 1
    # The port is bound and listened on here, with a deep backlog (Twisted's default is 50, which a burst of
    # reconnecting chat widgets overflows), and every daphne process accepts from this one socket.
    listener = _listen(host, port, env_int("CXDESK_LISTEN_BACKLOG"))
    server_command = [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()),
                      "--websocket_connect_timeout", str(env_int("CXDESK_WEBSOCKET_CONNECT_TIMEOUT"))]
    if env_bool("CXDESK_HTTPS"):
        server_command.append("--proxy-headers")
    server_command.append("config.asgi:application")

    stop_signal: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stop_signal.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: list[_Child] = []
    try:
        for n in range(web_processes):
            name = "web server (daphne)" if web_processes == 1 else f"web server {n + 1} (daphne)"
            children.append(_start(name, server_command, env, pass_fds=(listener.fileno(),)))
        listener.close()  # the web servers hold it now
        if web_processes > 1:
            print(f"Serving with {web_processes} web processes on one port.", flush=True)
        if worker and not _tasks_run_inline():
            children.append(_start("task worker", [sys.executable, "-m", "django", "db_worker", "--no-reload"], env))
        elif worker:
            print("Tasks run inline (CXDESK_TASKS=immediate): no task worker started.", flush=True)
        if worker:
            # Periodic jobs (SLA checks, time-based rules) do not depend on the task backend.
            children.append(_start("scheduler", [sys.executable, "-m", "django", "scheduler"], env))
            children.append(_start("IMAP poller", [sys.executable, "-m", "django", "imap_poller"], env))
        if smtp_port:
            children.append(_start("SMTP listener", [sys.executable, "-m", "django", "smtp_listener",
                                                     "--host", smtp_host, "--port", str(smtp_port)], env))
            print(f"Receiving email by SMTP on {smtp_host}:{smtp_port}.", flush=True)
        url, announced = _url(host, port), False
        serving = _watch_serving(host, port)
        while not stop_signal:
            dead = next((c for c in children if c.process.poll() is not None), None)
            if dead is not None:
                print(f"cxdesk run: error: the {dead.name} {_how_it_ended(dead.process.returncode)}; "
                      "stopping the rest", file=sys.stderr, flush=True)
                _stop(children)
                return 1
            if not announced and serving.is_set():
                print(_login_hint(url), flush=True)
                announced = True
            time.sleep(POLL_INTERVAL)
        print(f"Stopping cxdesk ({signal.Signals(stop_signal[0]).name})...", flush=True)
        _stop(children)
        print("Stopped.", flush=True)
        return 0
    finally:
        listener.close()
        _stop([c for c in children if c.process.poll() is None])
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
