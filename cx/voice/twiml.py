"""TwiML documents for the IVR, built with the twilio library (VoiceResponse, Gather, Dial, Record).

Pure functions of the menu's configuration and the callback URLs: no database, so each is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

GATHER_TIMEOUT_SECONDS = 6
DIAL_TIMEOUT_SECONDS = 25
MAX_VOICEMAIL_SECONDS = 180
VOICE = "Polly.Joanna"


@dataclass(frozen=True)
class MenuOption:
    digit: str
    label: str
    action: str  # forward, voicemail, callback
    forward_number: str = ""


@dataclass(frozen=True)
class Urls:
    incoming: str
    gather: str
    dial_status: str
    recording: str
    transcription: str


def _say(node, text: str, language: str) -> None:
    if text.strip():
        node.say(text.strip(), voice=VOICE, language=language)


def menu(*, greeting: str, options: list[MenuOption], language: str, urls: Urls, retry: bool = False) -> str:
    """The greeting and "for X press N" inside a one-digit Gather; no choice → once more, then voicemail."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=urls.gather, method="POST", timeout=GATHER_TIMEOUT_SECONDS,
                    action_on_empty_result=False)
    if not retry:
        _say(gather, greeting, language)
    for option in options:
        _say(gather, f"For {option.label}, press {option.digit}.", language)
    response.append(gather)
    if retry:
        _say(response, "We did not receive a choice.", language)
        response.redirect(urls.gather + "?Digits=voicemail", method="POST")
    else:
        response.redirect(urls.incoming + "?retry=1", method="POST")
    return str(response)


def forward(*, number: str, label: str, language: str, urls: Urls) -> str:
    response = VoiceResponse()
    _say(response, f"Connecting you to {label}.", language)
    dial = response.dial(action=urls.dial_status, method="POST", timeout=DIAL_TIMEOUT_SECONDS)
    dial.number(number)
    return str(response)


def voicemail(*, prompt: str, language: str, urls: Urls, before: str = "") -> str:
    response = VoiceResponse()
    _say(response, before, language)
    _say(response, prompt, language)
    response.record(action=urls.recording, method="POST", max_length=MAX_VOICEMAIL_SECONDS, play_beep=True,
                    transcribe=True, transcribe_callback=urls.transcription, finish_on_key="#")
    _say(response, "We did not receive a recording. Goodbye.", language)
    response.hangup()
    return str(response)


def say_and_hang_up(*, text: str, language: str) -> str:
    response = VoiceResponse()
    _say(response, text, language)
    response.hangup()
    return str(response)


def invalid_choice(*, language: str, urls: Urls) -> str:
    response = VoiceResponse()
    _say(response, "Sorry, that is not one of the options.", language)
    response.redirect(urls.incoming + "?retry=1", method="POST")
    return str(response)
