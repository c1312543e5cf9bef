"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) that records what cxdesk POSTs to it and
answers with scripted status codes; plus a ticket to make events with."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cx.customers.services import customer_create
from cx.tickets.services import ticket_open_by_customer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes for the next requests, in order; 200 once they run out.
    answers: list[int] = field(default_factory=list)
    answer_body: bytes = b'{"ok": true}'
    delay_seconds: float = 0.0
    redirect_to: str = ""

    def next_answer(self) -> int:
        return self.answers.pop(0) if self.answers else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(Received(path=self.path, headers=dict(self.headers.items()), body=body))
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            status = receiver.next_answer()
            try:
                self.send_response(status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # cxdesk gave up waiting (the timeout test)

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    box.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cxdesk"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture
def requester(db):
    return customer_create(actor=None, display_name="Rita Requester",
                           identities=[{"kind": "email", "value": "rita@example.com"}])


@pytest.fixture
def open_ticket(requester):
    def _open(subject: str = "My card was declined"):
        return ticket_open_by_customer(requester=requester, subject=subject, body="Why was my card declined?",
                                       channel="email").ticket

    return _open
