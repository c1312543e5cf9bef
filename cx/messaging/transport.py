"""The one HTTP client every outbound provider call goes through: httpx with timeouts, no redirects.

Errors are described without the URL or headers (Telegram puts the bot token in the path, the others send
tokens in headers), so a delivery error can be shown to agents and logged safely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from cx.messaging.adapters.base import OutboundRequest

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
USER_AGENT = "cxdesk-messaging/1"
ERROR_EXCERPT = 300


@dataclass(frozen=True)
class SendResult:
    status: int | None  # None: no HTTP answer (refused, timed out)
    data: Any
    error: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Outages, throttling and server errors are worth another attempt; other 4xx answers are final."""
        return self.status is None or self.status in (408, 409, 425, 429) or self.status >= 500


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT})
    return _client


def _provider_error(data: Any, text: str) -> str:
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # Meta
            return f"{error.get('code', '')} {error.get('message', '')}".strip()
        if data.get("description"):  # Telegram
            return str(data["description"])
        if data.get("message"):  # Twilio
            return f"{data.get('code', '')} {data['message']}".strip()
    return text[:ERROR_EXCERPT]


def send(request: OutboundRequest) -> SendResult:
    try:
        response = _http().post(request.url, headers=request.headers, json=request.json, data=request.form,
                                auth=request.basic_auth)
    except httpx.TimeoutException:
        return SendResult(status=None, data=None, error=f"no answer within {TIMEOUT.read:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return SendResult(status=None, data=None, error=f"could not connect ({type(exc).__name__})")
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if 200 <= response.status_code < 300:
        return SendResult(status=response.status_code, data=data, error="")
    detail = _provider_error(data, response.text)
    return SendResult(status=response.status_code, data=data,
                      error=f"HTTP {response.status_code}: {detail}"[:ERROR_EXCERPT])


@dataclass(frozen=True)
class FetchResult:
    status: int | None
    content: bytes
    content_type: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


def fetch(url: str, *, headers: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
          max_bytes: int = 20 * 1024 * 1024, follow_redirects: bool = False) -> FetchResult:
    """GET a media file or a JSON lookup, at most ``max_bytes`` (streamed, so a huge file is cut off early).

    Twilio answers media URLs with a redirect to its storage, so callers may follow redirects — but the
    credentials are only sent to the first host (httpx drops Authorization on a cross-origin redirect)."""
    try:
        with _http().stream("GET", url, headers=headers or {}, auth=auth,
                            follow_redirects=follow_redirects) as response:
            if not 200 <= response.status_code < 300:
                return FetchResult(status=response.status_code, content=b"", content_type="",
                                   error=f"HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return FetchResult(status=response.status_code, content=b"", content_type="",
                                       error=f"larger than {max_bytes // 2**20} MB")
                chunks.append(chunk)
            return FetchResult(status=response.status_code, content=b"".join(chunks),
                               content_type=response.headers.get("Content-Type", "").split(";")[0].strip(), error="")
    except httpx.TimeoutException:
        return FetchResult(status=None, content=b"", content_type="", error=f"no answer within {TIMEOUT.read:g} s")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return FetchResult(status=None, content=b"", content_type="", error=f"could not connect ({type(exc).__name__})")
