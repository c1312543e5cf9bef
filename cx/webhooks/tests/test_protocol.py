"""The webhook wire protocol on its own: signatures and the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from cx.webhooks import protocol


def test_the_signature_is_an_hmac_of_timestamp_dot_body():
    body = b'{"id":"e1","type":"ping"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert protocol.sign(secret="whsec_abc", timestamp=1700000000, body=body) == f"sha256={expected}"


@given(secret=st.text(min_size=1, max_size=40), timestamp=st.integers(0, 2**40), body=st.binary(max_size=200))
def test_receivers_verify_what_was_signed_and_nothing_else(secret, timestamp, body):
    signature = protocol.sign(secret=secret, timestamp=timestamp, body=body)
    assert protocol.verify(secret=secret, timestamp=str(timestamp), body=body, signature=signature)
    assert not protocol.verify(secret=secret + "x", timestamp=timestamp, body=body, signature=signature)
    assert not protocol.verify(secret=secret, timestamp=timestamp + 1, body=body, signature=signature)
    assert not protocol.verify(secret=secret, timestamp=timestamp, body=body + b" ", signature=signature)


def test_bad_timestamps_do_not_verify():
    assert not protocol.verify(secret="s", timestamp="soon", body=b"{}", signature="sha256=00")


def test_retries_back_off_then_give_up_after_six_attempts():
    delays = [protocol.retry_delay(n) for n in range(1, 8)]
    assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                      timedelta(hours=12), None, None]
    assert protocol.MAX_ATTEMPTS == 6


def test_the_body_is_compact_sorted_json():
    assert protocol.encode_body({"type": "ping", "id": "ä"}) == '{"id":"ä","type":"ping"}'.encode()
