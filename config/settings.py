"""Django settings for cxdesk. Values come only from config.env (the single env reader)."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

import dj_database_url

from config.env import env_bool, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
CXDESK_HOME = env_path("CXDESK_HOME")
CXDESK_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env_str("CXDESK_SECRET_KEY")
    if configured:
        return configured
    key_file = CXDESK_HOME / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("CXDESK_DEBUG")
ALLOWED_HOSTS = [*env_list("CXDESK_ALLOWED_HOSTS"), "testserver"]
CXDESK_BASE_URL = env_str("CXDESK_BASE_URL").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CXDESK_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the Swagger UI assets of /api/docs locally (no CDN)
    "cx.core",
    "cx.search",
    "cx.accounts",
    "cx.customers",
    "cx.journeys",
    "cx.tracking",
    "cx.tickets",
    "cx.sla",
    "cx.routing",
    "cx.notifications",
    "cx.webhooks",
    "cx.inbox",
    "cx.surveys",
    "cx.messaging",
    "cx.voice",
    "cx.kb",
    "cx.portal",
    "cx.intents",
    "cx.bot",
    "anymail",
    "cx.mail",
    "cx.automation",
    "cx.churn",
    "cx.playbooks",
    "cx.insights",
    "cx.clv",
    "cx.drivers",
    "cx.chat",
    "cx.realtime",
    "cx.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ApiBodyLimitMiddleware",
    "cx.surveys.middleware.PublicSurveyCorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cx.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url)}
    # Under ASGI every request runs in a fresh thread, so per-thread persistent connections would reconnect
    # on each request; a process-wide psycopg pool keeps connections warm instead.
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _pool = {"min_size": 2, "max_size": env_int("CXDESK_DB_POOL_SIZE"), "timeout": 20}
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = _pool
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": CXDESK_HOME / "cxdesk.sqlite3",
            # WAL (set once per process: cx.core.sqlite) + a busy timeout let the web process and the task worker
            # write side by side.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA synchronous=NORMAL;",
            },
            # Kept open between uses by the same thread: the WebSocket consumers' one database thread and the
            # task worker otherwise opened a connection (and registered Django's SQL functions) for every
            # message. HTTP requests each run in a thread of their own; theirs closes with the thread.
            "CONN_MAX_AGE": 600,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels (WebSockets) -------------------------------------------------------------------------
_redis_url = env_str("REDIS_URL")
if _redis_url:
    # redis-py's default 5 s read timeout equals channels-redis' 5 s BZPOPMIN: a reply a moment late (a busy
    # machine) raised TimeoutError and closed every WebSocket of the process with 1011. Reads get 30 s.
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {"hosts": [{"address": _redis_url, "socket_timeout": 30}]}}
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Login throttling and other short-lived counters live in the cache; shared between processes with Redis.
if _redis_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}}

# --- Background tasks ------------------------------------------------------------------------------
_task_backend = env_str("CXDESK_TASKS")
if _task_backend not in {"database", "immediate"}:
    raise ValueError(f"CXDESK_TASKS must be database or immediate, got {_task_backend!r}")
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if _task_backend == "database"
        else "django_tasks.backends.immediate.ImmediateBackend",
    }
}

# --- Auth & sessions -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("CXDESK_HTTPS"):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# --- Request limits --------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("CXDESK_MAX_REQUEST_BYTES")
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
CXDESK_MAX_UPLOAD_BYTES = env_int("CXDESK_MAX_UPLOAD_BYTES")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger files stream to a temporary file

# --- Email -----------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env_str("CXDESK_DEFAULT_FROM_EMAIL")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_url = env_str("CXDESK_EMAIL_URL")
if _email_url:
    _parsed = urlparse(_email_url)
    if _parsed.scheme not in {"smtp", "smtp+tls", "smtps"}:
        raise ValueError("CXDESK_EMAIL_URL must start with smtp://, smtp+tls:// or smtps://")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _parsed.hostname or "127.0.0.1"
    EMAIL_PORT = _parsed.port or (465 if _parsed.scheme == "smtps" else 25)
    EMAIL_HOST_USER = unquote(_parsed.username or "")
    EMAIL_HOST_PASSWORD = unquote(_parsed.password or "")
    EMAIL_USE_TLS = _parsed.scheme == "smtp+tls"
    EMAIL_USE_SSL = _parsed.scheme == "smtps"
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = CXDESK_HOME / "outbox"

_email_provider = env_str("CXDESK_EMAIL_PROVIDER")
_PROVIDER_BACKENDS = {"mailgun": "anymail.backends.mailgun.EmailBackend",
                      "sendgrid": "anymail.backends.sendgrid.EmailBackend",
                      "postmark": "anymail.backends.postmark.EmailBackend",
                      "amazon_ses": "anymail.backends.amazon_ses.EmailBackend"}
if _email_provider:
    if _email_provider not in _PROVIDER_BACKENDS:
        raise ValueError(f"CXDESK_EMAIL_PROVIDER must be one of {', '.join(_PROVIDER_BACKENDS)}")
    EMAIL_BACKEND = _PROVIDER_BACKENDS[_email_provider]
ANYMAIL = {
    "WEBHOOK_SECRET": env_str("CXDESK_INBOUND_WEBHOOK_SECRET"),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("CXDESK_MAILGUN_WEBHOOK_SIGNING_KEY"),
    # Confirming needs boto3 and AWS credentials; confirm the SNS subscription in the AWS console instead.
    "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,
}
if _email_provider and env_str("CXDESK_EMAIL_PROVIDER_API_KEY"):
    _key_setting = {"mailgun": "MAILGUN_API_KEY", "sendgrid": "SENDGRID_API_KEY",
                    "postmark": "POSTMARK_SERVER_TOKEN"}.get(_email_provider)
    if _key_setting:
        ANYMAIL[_key_setting] = env_str("CXDESK_EMAIL_PROVIDER_API_KEY")
CXDESK_SMTP_LISTEN_PORT = env_int("CXDESK_SMTP_LISTEN_PORT")
CXDESK_SMTP_LISTEN_HOST = env_str("CXDESK_SMTP_LISTEN_HOST")
CXDESK_IMAP_POLL_SECONDS = env_int("CXDESK_IMAP_POLL_SECONDS")
CXDESK_IMAP_CA_FILE = env_str("CXDESK_IMAP_CA_FILE")

# --- Static & media --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = CXDESK_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it even though it serves from the finders
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = CXDESK_HOME / "media"
MEDIA_URL = "/media/"

# --- I18N ------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- API -------------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 200

# --- Logging: secrets are never logged (tokens and passwords are not passed to loggers). ---------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "cx": {"handlers": ["console"], "level": env_str("CXDESK_LOG_LEVEL"), "propagate": False},
    },
}

CXDESK_DATA_DIR = env_path("CXDESK_DATA_DIR")
INTENT_TRANSFORMER = env_bool("CXDESK_INTENT_TRANSFORMER")

# --- Journeys and tracking ------------------------------------------------------------------------
CXDESK_ANALYTICS_ENGINE = env_str("CXDESK_ANALYTICS_ENGINE")
CXDESK_TRACKING_MAX_INFLIGHT = env_int("CXDESK_TRACKING_MAX_INFLIGHT")
CXDESK_TRACKING_MAX_BACKLOG_MB = env_int("CXDESK_TRACKING_MAX_BACKLOG_MB")

# --- Outcomes: purchases and churn (CLV, churn risk, dashboards) -------------------------------------
CXDESK_ORDER_EVENTS = env_list("CXDESK_ORDER_EVENTS")
CXDESK_CHURN_EVENTS = env_list("CXDESK_CHURN_EVENTS")
CXDESK_CHURN_INACTIVE_DAYS = env_int("CXDESK_CHURN_INACTIVE_DAYS")
