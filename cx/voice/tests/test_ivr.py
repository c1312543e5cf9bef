"""The IVR through Twilio's webhooks: TwiML for the configured menu, each digit's route, voicemail with
recording and transcript, callbacks, business hours, the call log on tickets and the timeline."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cx.journeys.models import Touchpoint
from cx.sla.models import BusinessCalendarConfig
from cx.tickets.models import Ticket
from cx.voice.models import Call
from cx.voice.services import webhook_urls
from cx.voice.tests.conftest import CALLER, call_params, twilio_post


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def _twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own TwiML
    assert root.tag == "Response"
    return root


def test_the_menu_is_valid_twiml_with_every_option(menu):
    urls = webhook_urls(menu)
    root = _twiml(twilio_post(_path(urls.incoming), call_params()))
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("action") == urls.gather and gather.get("method") == "POST"
    said = [say.text for say in gather.findall("Say")]
    assert said == ["Thank you for calling Acme.", "For Sales, press 1.", "For leaving a message, press 2.",
                    "For a callback, press 3."]
    assert root.find("Redirect").text == urls.incoming + "?retry=1"
    call = Call.objects.get()
    assert call.call_sid == "CA0001" and call.from_number == CALLER
    assert call.customer.identities.filter(kind="phone", value=CALLER).exists()


def test_digit_1_forwards_to_the_team_number(menu, teams):
    urls = webhook_urls(menu)
    root = _twiml(twilio_post(_path(urls.gather), call_params(Digits="1")))
    dial = root.find("Dial")
    assert dial.find("Number").text == "+15550001111"
    assert dial.get("action") == urls.dial_status
    assert Call.objects.get().team == teams["sales"]


def test_digit_2_records_a_voicemail_with_transcription(menu):
    urls = webhook_urls(menu)
    root = _twiml(twilio_post(_path(urls.gather), call_params(Digits="2")))
    record = root.find("Record")
    assert record.get("transcribe") == "true" and record.get("transcribeCallback") == urls.transcription
    assert record.get("action") == urls.recording
    assert root.find("Say").text == "Please leave a message after the tone."


def test_digit_3_creates_a_callback_task_for_the_team(menu, teams):
    urls = webhook_urls(menu)
    root = _twiml(twilio_post(_path(urls.gather), call_params(Digits="3")))
    assert root.find("Hangup") is not None
    ticket = Ticket.objects.get()
    assert ticket.ticket_type == "task" and ticket.channel == "phone" and ticket.team == teams["support"]
    assert CALLER in ticket.messages.get().body_text
    assert Call.objects.get().outcome == "callback_requested"


def test_an_unknown_digit_replays_the_menu(menu):
    urls = webhook_urls(menu)
    root = _twiml(twilio_post(_path(urls.gather), call_params(Digits="9")))
    assert "not one of the options" in root.find("Say").text
    assert root.find("Redirect").text == urls.incoming + "?retry=1"
    retry = _twiml(twilio_post(_path(urls.incoming) + "?retry=1", call_params()))
    assert retry.find("Redirect").text == urls.gather + "?Digits=voicemail"


def test_voicemail_becomes_a_ticket_with_recording_and_transcript(menu, teams):
    urls = webhook_urls(menu)
    twilio_post(_path(urls.incoming), call_params())
    twilio_post(_path(urls.gather), call_params(Digits="2"))
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC123/Recordings/RE123"
    _twiml(twilio_post(_path(urls.recording), call_params(RecordingUrl=recording, RecordingSid="RE123",
                                                          RecordingDuration="14")))
    ticket = Ticket.objects.get()
    assert ticket.channel == "phone" and recording in ticket.messages.first().body_text
    assert ticket.team == teams["support"]
    response = twilio_post(_path(urls.transcription), call_params(
        TranscriptionText="Hi, my order 1234 arrived broken.", TranscriptionStatus="completed", RecordingSid="RE123"))
    assert response.status_code == 204
    call = Call.objects.get()
    assert call.transcript == "Hi, my order 1234 arrived broken." and call.recording_seconds == 14
    assert ticket.messages.filter(body_text__contains="order 1234", visibility="internal").exists()
    twilio_post(_path(urls.incoming.replace("incoming", "status")), call_params(CallStatus="completed",
                                                                                 CallDuration="41"))
    call.refresh_from_db()
    assert call.outcome == "voicemail" and call.duration_seconds == 41 and call.ended_at
    tp = Touchpoint.objects.get(kind="call.voicemail")
    assert tp.channel == "phone" and tp.properties["ticket_id"] == ticket.pk


def test_an_answered_call_is_logged_on_a_ticket_and_the_timeline(menu, teams):
    urls = webhook_urls(menu)
    twilio_post(_path(urls.incoming), call_params())
    twilio_post(_path(urls.gather), call_params(Digits="1"))
    _twiml(twilio_post(_path(urls.dial_status), call_params(DialCallStatus="completed", DialCallDuration="90")))
    status_path = _path(urls.incoming.replace("incoming", "status"))
    assert twilio_post(status_path, call_params(CallStatus="completed", CallDuration="95")).status_code == 204
    assert twilio_post(status_path, call_params(CallStatus="completed", CallDuration="95")).status_code == 204
    call = Call.objects.get()
    assert call.outcome == "answered" and call.duration_seconds == 95
    ticket = Ticket.objects.get()
    assert call.ticket == ticket and ticket.channel == "phone" and ticket.team == teams["sales"]
    note = ticket.messages.get()
    assert "answered, 1m 35s, team Sales" in note.body_text and note.visibility == "internal"
    assert Touchpoint.objects.filter(kind="call.answered", channel="phone", customer=call.customer).count() == 1


def test_an_unanswered_forward_offers_voicemail(menu):
    urls = webhook_urls(menu)
    twilio_post(_path(urls.gather), call_params(Digits="1"))
    root = _twiml(twilio_post(_path(urls.dial_status), call_params(DialCallStatus="no-answer")))
    assert root.find("Record") is not None
    twilio_post(_path(urls.incoming.replace("incoming", "status")), call_params(CallStatus="completed",
                                                                                 CallDuration="30"))
    assert Call.objects.get().outcome == "missed"


def test_a_caller_who_hangs_up_in_the_menu_is_logged_as_abandoned(menu):
    urls = webhook_urls(menu)
    twilio_post(_path(urls.incoming), call_params())
    twilio_post(_path(urls.incoming.replace("incoming", "status")), call_params(CallStatus="completed",
                                                                                 CallDuration="7"))
    assert Call.objects.get().outcome == "abandoned"
    assert Ticket.objects.get().channel == "phone"


ALL_DAY = {day: [["00:00", "24:00"]] for day in
           ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}


@pytest.mark.parametrize(("weekly", "is_open"), [({}, False), (ALL_DAY, True)])
def test_business_hours_branch(menu, admin_user, weekly, is_open):
    from cx.voice.services import ivr_menu_update

    calendar = BusinessCalendarConfig.objects.create(name="Hours", time_zone="Europe/Berlin", weekly_hours=weekly)
    ivr_menu_update(actor=admin_user, menu=menu, values={"calendar_id": calendar.pk})
    root = _twiml(twilio_post(_path(webhook_urls(menu).incoming), call_params()))
    if is_open:
        assert root.find("Gather") is not None
    else:
        assert root.find("Gather") is None
        assert [s.text for s in root.findall("Say")][:2] == ["We are closed.", "Please leave a message after the tone."]
        assert root.find("Record") is not None


def test_after_hours_callback_creates_a_task(menu, admin_user):
    from cx.voice.services import ivr_menu_update

    calendar = BusinessCalendarConfig.objects.create(name="Never", time_zone="UTC", weekly_hours={})
    ivr_menu_update(actor=admin_user, menu=menu, values={"calendar_id": calendar.pk, "after_hours_action": "callback"})
    root = _twiml(twilio_post(_path(webhook_urls(menu).incoming), call_params()))
    assert "call you back" in root.find("Say").text
    assert Ticket.objects.get().ticket_type == "task"


def test_a_wrong_signature_is_403_and_stores_nothing(menu):
    urls = webhook_urls(menu)
    response = twilio_post(_path(urls.incoming), call_params(), token="not-the-token")
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_signature"
    assert twilio_post(_path(urls.recording), call_params(RecordingUrl="https://x"), signature="").status_code == 403
    assert not Call.objects.exists() and not Ticket.objects.exists()


def test_malformed_requests_are_400(menu):
    urls = webhook_urls(menu)
    params = call_params()
    del params["CallSid"]
    response = twilio_post(_path(urls.incoming), params)
    assert response.status_code == 400 and response.json()["error"]["fields"] == {"CallSid": "required"}
    response = twilio_post(_path(urls.recording), call_params(RecordingUrl="javascript:alert(1)"))
    assert response.status_code == 400
    response = twilio_post(_path(urls.incoming.replace("incoming", "status")),
                           call_params(CallStatus="completed", CallDuration="long"))
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_unknown_menu_is_404(db):
    assert twilio_post("/voice/hooks/nope/incoming/", call_params()).status_code == 404
