"""Bot settings (admin page + API) and the outcome report (page + API)."""

from __future__ import annotations

import pytest

from cx.bot.models import BotAnswer, Outcome

pytestmark = pytest.mark.django_db


def test_admins_change_settings_by_api_and_bad_input_changes_nothing(api_client, token_for, admin_user, agent_user):
    admin = api_client(token_for(admin_user, "admin"))
    response = admin.patch("/api/v1/bot/settings", {"chat_enabled": True, "threshold": 0.72})
    assert response.status_code == 200, response.content
    assert response.json() == {"chat_enabled": True, "email_enabled": False, "web_enabled": False, "threshold": 0.72}
    for bad, field in (({"threshold": 3}, "threshold"), ({"chat_enabled": "yes"}, "chat_enabled"),
                       ({"colour": "red"}, "colour"), ({"threshold": None}, "threshold")):
        response = admin.patch("/api/v1/bot/settings", bad)
        assert response.status_code == 422 and field in str(response.json()["error"]["fields"]), response.content
    assert admin.get("/api/v1/bot/settings").json()["threshold"] == 0.72
    agent = api_client(token_for(agent_user, "write"))
    assert agent.patch("/api/v1/bot/settings", {"threshold": 0.1}).status_code == 403
    assert agent.get("/api/v1/bot/settings").status_code == 200


def test_admin_page_saves_settings(client, admin_user, agent_user):
    client.force_login(admin_user)
    assert client.get("/bot/").status_code == 200
    response = client.post("/bot/settings/", {"threshold": "0.4", "chat_enabled": "on", "web_enabled": "on"})
    assert response.status_code == 302
    page = client.get("/bot/").content.decode()
    assert 'value="0.4"' in page and 'name="chat_enabled" id="chat_enabled" checked' in page
    client.post("/bot/settings/", {"threshold": "high"})
    assert 'value="0.4"' in client.get("/bot/").content.decode()
    client.force_login(agent_user)
    assert client.get("/bot/").status_code == 403


def test_the_report_counts_outcomes(chat, articles, bot_on, client, admin_user, api_client, token_for):
    articles("Reset your password", "Open Settings, choose Security and press Reset password.")
    bot_on()
    chat.start("How do I reset my password?")
    chat.say("yes")
    BotAnswer.objects.create(ticket=chat.conversation.ticket, channel="chat", question="q",
                             outcome=Outcome.HANDED_OVER, handover_reason="low_score")
    BotAnswer.objects.create(ticket=chat.conversation.ticket, channel="email", question="q2",
                             outcome=Outcome.ABANDONED, answer_message_id=1)
    report = api_client(token_for(admin_user, "read")).get("/api/v1/bot/report?days=7").json()
    assert (report["accepted"], report["handed_over"], report["abandoned"], report["answered"]) == (1, 1, 1, 2)
    assert report["acceptance_rate"] == 0.5 and report["handover_reasons"] == {"low_score": 1}
    assert report["top_articles"][0]["title"] == "Reset your password"
    assert api_client(token_for(admin_user, "read")).get("/api/v1/bot/report?days=0").status_code == 422
    client.force_login(admin_user)
    page = client.get("/bot/report/").content.decode()
    assert 'id="bot-accepted">1<' in page and "Reset your password" in page
