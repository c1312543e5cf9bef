"""A local stand-in for the providers' send APIs (WhatsApp/Messenger Graph API, Telegram Bot API, Twilio
REST): a real HTTP server on 127.0.0.1 that records each request and answers like the provider does, or
with scripted failures (an outage) first. Used by the unit tests and the browser test."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class FakeProvider:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    # Status codes for the next requests, in order; the provider's success answer once they run out.
    failures: list[int] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    downloads: list[Recorded] = field(default_factory=list)

    def media_answer(self, path: str) -> tuple[int, str, bytes, str]:
        """GETs: WhatsApp media lookup, Telegram getFile, Twilio's redirecting media URL, and the files."""
        if "/getFile" in path:
            return 200, "application/json", json.dumps({"ok": True, "result": {"file_path": "voice/file_7.oga"}}
                                                       ).encode(), ""
        if path.startswith("/v21.0/") and "fields=first_name" in path:
            return 200, "application/json", json.dumps({"first_name": "Peter", "last_name": "Chang",
                                                        "id": path.split("/")[2].split("?")[0]}).encode(), ""
        if path.startswith("/v21.0/"):
            media_id = path.rsplit("/", 1)[1]
            return 200, "application/json", json.dumps({"url": f"{self.url}/media/{media_id}",
                                                        "mime_type": "image/jpeg"}).encode(), ""
        if "/Media/" in path:
            return 302, "text/plain", b"", f"{self.url}/media/twilio"
        if path.startswith(("/media/", "/file/")):
            return 200, "image/jpeg", b"\xff\xd8\xff fake image " + path.encode(), ""
        return 404, "application/json", b'{"error": {"message": "not found"}}', ""

    def answer(self, path: str, body: bytes) -> tuple[int, dict]:
        with self._lock:
            if self.failures:
                status = self.failures.pop(0)
                return status, {"error": {"code": status, "message": "Service temporarily unavailable"}}
            n = next(self._ids)
        if path.endswith("/answerCallbackQuery"):
            return 200, {"ok": True, "result": True}
        if path.endswith("/sendMessage"):
            chat = json.loads(body).get("chat_id")
            return 200, {"ok": True, "result": {"message_id": 9000 + n, "chat": {"id": chat}, "date": 0}}
        if "/Messages.json" in path:
            return 201, {"sid": f"SM{n:032d}", "status": "queued"}
        if path.endswith("/me/messages"):
            return 200, {"recipient_id": json.loads(body)["recipient"]["id"], "message_id": f"m_out{n}"}
        return 200, {"messaging_product": "whatsapp", "contacts": [], "messages": [{"id": f"wamid.OUT{n}"}]}


def start_fake_provider() -> tuple[FakeProvider, ThreadingHTTPServer]:
    fake = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fake.requests.append(Recorded(path=self.path, headers=dict(self.headers.items()), body=body))
            status, answer = fake.answer(self.path, body)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            fake.downloads.append(Recorded(path=self.path, headers=dict(self.headers.items()), body=b""))
            status, content_type, raw, location = fake.media_answer(self.path)
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
