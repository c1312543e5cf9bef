"""One HTTP POST with a timeout and no redirects (a 3xx is an answer, not a place to re-send the body).

Standard library only (urllib). The result carries at most 1 KB of the response for the delivery log.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

TIMEOUT_SECONDS = 10.0
EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None: no HTTP answer (refused, timed out, DNS, TLS)
    body_excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _excerpt(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return raw[:EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def _read_some(response) -> bytes:
    try:
        return response.read(EXCERPT_BYTES)
    except (OSError, ValueError):
        return b""


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float | None = None) -> PostResult:
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only
    try:
        with _opener.open(request, timeout=timeout) as response:
            return PostResult(status=response.status, body_excerpt=_excerpt(_read_some(response)), error="")
    except urllib.error.HTTPError as exc:
        with exc:
            return PostResult(status=exc.code, body_excerpt=_excerpt(_read_some(exc)), error=f"HTTP {exc.code}")
    except TimeoutError:
        return PostResult(status=None, body_excerpt="", error=f"no answer within {timeout:g} s")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            return PostResult(status=None, body_excerpt="", error=f"no answer within {timeout:g} s")
        return PostResult(status=None, body_excerpt="", error=f"could not connect: {exc.reason}"[:500])
    except (OSError, ValueError) as exc:
        return PostResult(status=None, body_excerpt="", error=f"{type(exc).__name__}: {exc}"[:500])
