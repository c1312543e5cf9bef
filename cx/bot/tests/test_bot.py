"""The answer bot through the paths customers use: the chat services behind the widget and new email/web tickets."""

from __future__ import annotations

import pytest

from cx.bot.models import BotAnswer, HandoverReason, Outcome
from cx.bot.services import bot_abandon_stale, bot_handle_message
from cx.chat.selectors import conversation_messages, message_frame
from cx.customers.services import customer_create
from cx.tickets.models import AuthorType, Channel, Visibility
from cx.tickets.services import ticket_open_by_customer

pytestmark = pytest.mark.django_db

PASSWORD = ("Open Settings, choose Security and press Reset password. We email you a link to choose a new "
            "password; the link works for one hour.")


def _bot_messages(chat):
    return [body for author, body in chat.public_messages() if author == AuthorType.SYSTEM]


def test_the_bot_answers_a_new_chat_with_a_quoted_passage_and_link(chat, articles, bot_on):
    article = articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    [answer] = _bot_messages(chat)
    assert "Reset your password" in answer and "> " in answer and "Reset password" in answer
    assert f"https://help.example.com/help/en/account/{article.slug}/" in answer
    assert answer.endswith("Did this answer your question?")
    row = BotAnswer.objects.get()
    assert row.outcome == Outcome.PENDING and row.article == article and row.similarity >= 0.5
    # The widget shows Yes / No under the bot's answer only.
    frames = [message_frame(m, widget_key=chat.inbox.widget_key) for m in
              conversation_messages(conversation=chat.conversation)]
    assert [f["quick_replies"] for f in frames] == [[], ["Yes", "No"]]


def test_yes_records_an_accepted_answer(chat, articles, bot_on):
    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    chat.say("Yes")
    assert BotAnswer.objects.get().outcome == Outcome.ACCEPTED
    assert "Glad that helped" in _bot_messages(chat)[-1]


def test_no_hands_over_at_once_and_the_chat_stays_queued(chat, articles, bot_on):
    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    chat.say("No")
    row = BotAnswer.objects.get()
    assert (row.outcome, row.handover_reason) == (Outcome.HANDED_OVER, HandoverReason.NOT_HELPFUL)
    assert "passing you to one of our agents" in _bot_messages(chat)[-1]
    chat.conversation.refresh_from_db()
    assert chat.conversation.status == "waiting"
    note = chat.conversation.ticket.messages.get(visibility=Visibility.INTERNAL, body_text__startswith="Answer bot")
    assert "did not help" in note.body_text
    # From now on the bot is silent: the visitor talks to the agents.
    chat.say("My account is locked")
    assert len(_bot_messages(chat)) == 2


@pytest.mark.parametrize("ask", ["Can I talk to a human?", "agent please", "I want a real person"])
def test_asking_for_a_person_hands_over(chat, articles, bot_on, ask):
    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    chat.say(ask)
    row = BotAnswer.objects.get()
    assert (row.outcome, row.handover_reason) == (Outcome.HANDED_OVER, HandoverReason.ASKED_FOR_PERSON)


def test_asking_for_a_person_in_the_first_message_never_answers(chat, articles, bot_on):
    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("I need to speak to an agent about my password")
    row = BotAnswer.objects.get()
    assert row.handover_reason == HandoverReason.ASKED_FOR_PERSON and row.article is None


def test_the_threshold_is_respected(chat, articles, bot_on):
    articles("Reset your password", PASSWORD)
    bot_on(threshold=0.99)
    chat.start("How do I reset my password?")
    row = BotAnswer.objects.get()
    assert (row.outcome, row.handover_reason) == (Outcome.HANDED_OVER, HandoverReason.LOW_SCORE)
    assert row.similarity is not None and row.similarity < 0.99
    assert not any("This article may help" in body for body in _bot_messages(chat))


def test_never_answers_from_unpublished_or_internal_articles(chat, articles, bot_on):
    articles("Reset your password", PASSWORD, status="draft")
    articles("Reset a customer's password (internal)", PASSWORD, internal=True)
    articles("Old password reset", PASSWORD, status="archived")
    bot_on(threshold=0.0)
    chat.start("How do I reset my password?")
    row = BotAnswer.objects.get()
    assert row.outcome == Outcome.HANDED_OVER and row.article is None
    assert not any("This article may help" in body for body in _bot_messages(chat))


def test_switched_off_channels_are_left_alone(chat, articles, bot_on):
    articles("Reset your password", PASSWORD)
    bot_on(chat_enabled=False)
    chat.start("How do I reset my password?")
    assert not BotAnswer.objects.exists() and _bot_messages(chat) == []


def test_an_accepted_chat_is_the_agents(chat, articles, bot_on, make_user):
    from cx.accounts.models import Role
    from cx.accounts.services import user_set_status
    from cx.chat.services import chat_accept

    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    agent = make_user(Role.AGENT, "sam")
    user_set_status(actor=agent, status="online")
    chat_accept(actor=agent, conversation=chat.conversation)
    chat.say("Thanks, and where is my order?")
    assert BotAnswer.objects.get().outcome == Outcome.HANDED_OVER
    assert len(_bot_messages(chat)) == 1


def test_unanswered_questions_are_abandoned(chat, articles, bot_on):
    from datetime import timedelta

    from django.utils import timezone

    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    assert bot_abandon_stale(timezone.now()) == 0
    assert bot_abandon_stale(timezone.now() + timedelta(hours=1)) == 1
    assert BotAnswer.objects.get().outcome == Outcome.ABANDONED


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.WEB])
def test_new_email_and_web_tickets_get_a_public_answer(articles, bot_on, channel, django_capture_on_commit_callbacks):
    articles("Reset your password", PASSWORD)
    bot_on()
    customer = customer_create(actor=None, display_name="Ann",
                               identities=[{"kind": "email", "value": "ann@example.com"}])
    with django_capture_on_commit_callbacks(execute=True):
        opened = ticket_open_by_customer(requester=customer, subject="Password", channel=channel,
                                         body="How can I reset my password?")
    reply = opened.ticket.messages.get(author_type=AuthorType.SYSTEM, visibility=Visibility.PUBLIC)
    assert "Reset your password" in reply.body_text and 'Reply "yes"' in reply.body_text
    assert BotAnswer.objects.get().channel == channel
    from cx.tickets.services import ticket_customer_reply

    with django_capture_on_commit_callbacks(execute=True):
        ticket_customer_reply(ticket=opened.ticket, customer=customer, body="no", channel=channel)
    assert BotAnswer.objects.get().outcome == Outcome.HANDED_OVER


def test_agent_messages_are_ignored(chat, articles, bot_on):
    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    bot_message = chat.conversation.ticket.messages.filter(author_type=AuthorType.SYSTEM).first()
    assert bot_handle_message(message_id=bot_message.pk) is None


def test_customer_export_and_erasure_reach_bot_questions(chat, articles, bot_on):
    from cx.bot.services import BotDataHandler

    articles("Reset your password", PASSWORD)
    bot_on()
    chat.start("How do I reset my password?")
    customer_id = chat.conversation.ticket.requester_id
    handler = BotDataHandler()
    assert handler.export(customer_id=customer_id)[0]["question"] == "How do I reset my password?"
    assert handler.erase(customer_id=customer_id) == 1
    assert BotAnswer.objects.get().question == ""
