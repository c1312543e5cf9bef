"""The single place that reads the process environment.

Every setting cxdesk understands is declared in ``SETTINGS`` with its default and meaning, so the README
table and the runtime agree (``python -m config.env`` prints the table).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("CXDESK_HOME", "./var", "Directory for the SQLite database, uploads, outgoing mail files and keys."),
    Setting("DATABASE_URL", "", "PostgreSQL URL (postgres://user:pass@host:port/db). Empty: SQLite in CXDESK_HOME."),
    Setting("CXDESK_DB_POOL_SIZE", "20", "Most PostgreSQL connections one cxdesk process keeps open (pool)."),
    Setting("REDIS_URL", "", "Redis URL for the channel layer (several processes). Empty: in-memory layer."),
    Setting("CXDESK_SECRET_KEY", "", "Django secret key. Empty: generated once into CXDESK_HOME/secret_key."),
    Setting("CXDESK_DEBUG", "false", "Django debug mode. Never on in production."),
    Setting("CXDESK_ALLOWED_HOSTS", "127.0.0.1,localhost", "Comma-separated host names cxdesk answers to."),
    Setting("CXDESK_BASE_URL", "http://127.0.0.1:8000", "Public URL used in emails (password reset links)."),
    Setting("CXDESK_HTTPS", "false", "true behind an HTTPS proxy: secure cookies, HSTS, X-Forwarded-Proto trusted."),
    Setting("CXDESK_CSRF_TRUSTED_ORIGINS", "",
            "Comma-separated origins allowed to POST (e.g. https://help.example.com)."),
    Setting("CXDESK_HOST", "127.0.0.1", "Address `cxdesk run` listens on."),
    Setting("CXDESK_PORT", "8000", "Port `cxdesk run` listens on."),
    Setting("CXDESK_EMAIL_URL", "", "Outgoing mail: smtp://user:pass@host:port (smtp+tls:// for STARTTLS). "
            "Empty: messages are written as files to CXDESK_HOME/outbox."),
    Setting("CXDESK_EMAIL_PROVIDER", "",
            "Send mail through an API provider instead: mailgun, sendgrid, postmark or amazon_ses (django-anymail)."),
    Setting("CXDESK_EMAIL_PROVIDER_API_KEY", "", "API key of CXDESK_EMAIL_PROVIDER (Amazon SES uses AWS_* variables)."),
    Setting("CXDESK_INBOUND_WEBHOOK_SECRET", "",
            "user:password provider inbound webhooks must send (basic auth). Empty: webhooks are refused."),
    Setting("CXDESK_MAILGUN_WEBHOOK_SIGNING_KEY", "", "Mailgun's webhook signing key (checks its signatures)."),
    Setting("CXDESK_SMTP_LISTEN_PORT", "0",
            "Port of the inbound SMTP listener `cxdesk run` starts (e.g. 2525). 0: no listener."),
    Setting("CXDESK_SMTP_LISTEN_HOST", "127.0.0.1", "Address the inbound SMTP listener binds to."),
    Setting("CXDESK_IMAP_POLL_SECONDS", "60",
            "How often `cxdesk run` polls IMAP mailboxes (servers with IDLE deliver sooner)."),
    Setting("CXDESK_IMAP_CA_FILE", "", "Extra CA certificate file trusted for IMAPS (a private mail server's CA)."),
    Setting("CXDESK_DEFAULT_FROM_EMAIL", "cxdesk <support@cxdesk.localhost>", "Sender of system mail."),
    Setting("CXDESK_TASKS", "database", "Task backend: database (worker process) or immediate (run inline)."),
    Setting("CXDESK_WEB_PROCESSES", "1",
            "Web server (daphne) processes `cxdesk run` starts on its one port; above 1 needs REDIS_URL."),
    Setting("CXDESK_LISTEN_BACKLOG", "1024",
            "Pending connections the web port queues while the server is busy (a reconnect storm)."),
    Setting("CXDESK_WEBSOCKET_CONNECT_TIMEOUT", "30",
            "Seconds a WebSocket handshake may wait for the server under load before it is dropped."),
    Setting("CXDESK_MAX_REQUEST_BYTES", "1048576", "Largest request body accepted by the API (413 above)."),
    Setting("CXDESK_MAX_UPLOAD_BYTES", "209715200",
            "Largest multipart upload (attachments) accepted by the API; each file is also limited by the app."),
    Setting("CXDESK_LOG_LEVEL", "INFO", "Log level for cxdesk's own loggers."),
    Setting("CXDESK_ANALYTICS_ENGINE", "duckdb",
            "Analytics store: duckdb (a file in CXDESK_HOME/analytics) or postgres (the main database)."),
    Setting("CXDESK_TRACKING_MAX_INFLIGHT", "256",
            "Tracking API requests one process handles at once before answering 429 (Retry-After)."),
    Setting("CXDESK_TRACKING_MAX_BACKLOG_MB", "2048",
            "Spooled tracking data not yet loaded into the analytics store before the API answers 429."),
    Setting("CXDESK_ORDER_EVENTS", "Order Completed",
            "Tracked event names that are purchases (CLV, spend); amount from revenue/total/value/amount."),
    Setting("CXDESK_CHURN_EVENTS", "Subscription Cancelled,Account Closed",
            "Tracked event names that mean a customer has left (churn label)."),
    Setting("CXDESK_CHURN_INACTIVE_DAYS", "90",
            "A customer active before and without any touchpoint for this many days counts as churned."),
    Setting("CXDESK_DATA_DIR", "../shared/data",
            "Where `cxdesk demo` looks for real public texts (banking77, bitext)."),
    Setting("CXDESK_INTENT_TRANSFORMER", "true",
            "Intent classifier: also fine-tune MiniLM for its uncertain tickets (+1.1 points on BANKING77; "
            "each retrain takes about 2 x 10 CPU-minutes per 8,000 examples more). false: fast models only."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def env_str(name: str) -> str:
    """The value of a declared setting, or its default."""
    setting = _BY_NAME[name]
    return os.environ.get(name, setting.default)


def env_bool(name: str) -> bool:
    value = env_str(name).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def env_int(name: str) -> int:
    value = env_str(name)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str) -> list[str]:
    return [part.strip() for part in env_str(name).split(",") if part.strip()]


def env_path(name: str) -> Path:
    return Path(env_str(name)).expanduser().resolve()


def settings_table_markdown() -> str:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table_markdown())
