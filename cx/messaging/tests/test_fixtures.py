"""Every real payload in adapters/<provider>/fixtures is accepted (stored as a ticket message, a reaction or a
delivery status) or deliberately ignored with a logged reason — posted through the real webhook URL."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl

import pytest

from cx.journeys.models import Touchpoint
from cx.messaging.models import InboundEvent
from cx.messaging.tests.conftest import fixture_files, post_webhook
from cx.tickets.models import Message, Ticket

# What each fixture must become: a stored customer message, a reaction, or ignored (with the logged reason).
EXPECTED = {
    "whatsapp": {
        "callback_button__button.json": "stored", "callback_button__quick_reply.json": "stored",
        "callback_button__quick_reply_without_context.json": "stored", "callback_selection__callback.json": "stored",
        "callback_selection__description.json": "stored", "deleted_message__revoke.json": "ignored",
        "edited_message__image.json": "stored", "flow_completion__completion.json": "stored",
        "flow_completion__without_flow_token.json": "stored", "message__animated_sticker.json": "stored",
        "message__audio.json": "stored", "message__chosen_location.json": "stored",
        "message__contacts.json": "stored", "message__current_location.json": "stored",
        "message__document.json": "stored", "message__forwarded.json": "stored",
        "message__forwarded_many_times.json": "stored", "message__image.json": "stored",
        "message__interactive_message_with_err.json": "ignored", "message__media_with_url.json": "stored",
        "message__order.json": "stored", "message__reaction.json": "reaction", "message__referral.json": "stored",
        "message__reply.json": "stored", "message__static_sticker.json": "stored", "message__text.json": "stored",
        "message__unreaction_empty.json": "reaction", "message__unreaction_no_emoji.json": "reaction",
        "message__unsupported.json": "ignored", "message__unsupported_with_type.json": "ignored",
        "message__video.json": "stored", "message__voice.json": "stored",
        # Statuses of messages cxdesk never sent are ignored (test_outbound covers statuses of ours).
        "message_status__delivered.json": "ignored", "message_status__failed.json": "ignored",
        "message_status__group.json": "ignored", "message_status__played.json": "ignored",
        "message_status__read.json": "ignored", "message_status__sent.json": "ignored",
        "message_status__with_tracker.json": "ignored", "system__identity_change.json": "ignored",
        "system__phone_number_change.json": "ignored",
    },
    "messenger": {
        "Payload.json": "stored", "PayloadWithPassThreadControl.json": "ignored", "PayloadWithPostBack.json": "stored",
        "PayloadWithReferral.json": "stored", "PayloadWithRequestThreadControl.json": "ignored",
        "PayloadWithStandby.json": "stored", "PayloadWithTakeThreadControl.json": "ignored",
        "RequestResponse.json": "stored",
    },
    "telegram": {
        "01_message_text_tls_example.json": "stored", "02_message_text.json": "stored",
        "03_forwarded_message.json": "stored", "04_forwarded_channel_message.json": "stored",
        "05_message_with_reply.json": "stored", "06_edited_message.json": "stored",
        "07_message_with_entities.json": "stored", "08_message_with_audio.json": "stored",
        "09_voice_message.json": "stored", "10_message_with_document.json": "stored",
        "11_inline_query.json": "ignored", "12_chosen_inline_result.json": "ignored",
        "13_callback_query.json": "stored",
    },
    "twilio_sms": {
        "DictionaryMediaPayload.json": "stored", "DictionaryPayload.json": "stored",
        "MediaPayload.form-urlencoded.txt": "stored", "NoMediaPayload.form-urlencoded.txt": "stored",
    },
}
CASES = [(provider, path) for provider in EXPECTED for path in fixture_files(provider)]


def _twilio_form(path) -> list[tuple[str, str]]:
    raw = path.read_text().strip()
    if path.suffix == ".txt":
        return parse_qsl(raw, keep_blank_values=True)
    # The JSON files are the adapter's dict form of the same request (percent-encoded values, numbers):
    # turn them back into the form fields Twilio posts.
    from urllib.parse import unquote

    return [(k, unquote(str(v))) for k, v in json.loads(raw).items()]


def test_every_fixture_has_an_expectation():
    for provider, expected in EXPECTED.items():
        assert sorted(p.name for p in fixture_files(provider)) == sorted(expected), provider


@pytest.mark.parametrize(("provider", "path"), CASES, ids=[f"{p}/{f.name}" for p, f in CASES])
def test_fixture_is_stored_or_ignored_with_a_logged_reason(provider, path, make_connector, caplog):
    caplog.set_level(logging.INFO, logger="cx.messaging")
    overrides = {}
    if provider == "whatsapp":
        payload = json.loads(path.read_text())
        number = payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
        overrides = {"settings": {"phone_number_id": number}}
    if provider == "messenger":
        payload = json.loads(path.read_text(encoding="utf-8-sig"))
        overrides = {"page_id": payload["entry"][0]["id"]}
    connector = make_connector(provider, **({"page_id": overrides["page_id"]} if "page_id" in overrides else {}))
    if "settings" in overrides:
        connector.settings = overrides["settings"]
        connector.save(update_fields=["settings"])
    body = dict(_twilio_form(path)) if provider == "twilio_sms" else path.read_bytes()
    response = post_webhook(connector, body)
    assert response.status_code == 200, response.content
    expected = EXPECTED[provider][path.name]
    messages = Message.objects.filter(author_type="customer")
    if expected == "stored":
        message = messages.get()
        assert message.ticket.channel == {"twilio_sms": "sms"}.get(provider, provider)
        assert message.body_text.strip()
        assert Touchpoint.objects.filter(customer=message.ticket.requester, channel=message.ticket.channel).exists()
        assert InboundEvent.objects.get().message_id == message.pk
    elif expected == "reaction":
        assert not messages.exists()
        assert Touchpoint.objects.filter(kind__startswith="message.", channel=provider).count() == 1
    else:
        assert not messages.exists() and not Ticket.objects.exists()
        reasons = response.json()["ignored"]
        assert reasons and all(reason for reason in reasons)
        assert any("ignored" in r.getMessage() for r in caplog.records), "the reason must be logged"


@pytest.mark.parametrize(("provider", "path"), [c for c in CASES if EXPECTED[c[0]][c[1].name] == "stored"][:12],
                         ids=lambda v: getattr(v, "name", v))
def test_the_same_delivery_twice_stores_once(provider, path, make_connector):
    if provider in ("whatsapp", "messenger"):
        payload = json.loads(path.read_text(encoding="utf-8-sig"))
        connector = make_connector(provider, **({"page_id": payload["entry"][0]["id"]} if provider == "messenger"
                                                else {}))
        if provider == "whatsapp":
            number = payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
            connector.settings = {"phone_number_id": number}
            connector.save(update_fields=["settings"])
    else:
        connector = make_connector(provider)
    body = dict(_twilio_form(path)) if provider == "twilio_sms" else path.read_bytes()
    assert post_webhook(connector, body).status_code == 200
    second = post_webhook(connector, body)
    assert second.status_code == 200
    assert Message.objects.filter(author_type="customer").count() == 1
    if provider != "twilio_sms":
        assert second.json()["duplicates"] == 1
