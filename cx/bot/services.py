"""The answer bot. It answers new chats (before an agent accepts them) and new email / web-form tickets from
published public knowledge-base articles only: a quoted passage and a link, when the best article's similarity
(cosine of question and article, from the hybrid engine) reaches the admin's threshold. It then asks "Did this
answer your question?". "No", a low score, or the customer asking for a person hands the ticket over to the
agents at once (the ticket is the transcript; a chat simply stays in the agents' queue).

It hooks in through the tickets app's observers: a ticket ``created`` on an enabled channel, and a
``customer_replied`` on a ticket the bot is talking on. The bot runs after the customer's transaction commits
(the chat conversation exists by then), in its own transaction, and never breaks the customer's request."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from cx.accounts.models import AccessLevel, User
from cx.accounts.services import require_access, system_user_get
from cx.bot.models import BotAnswer, BotSettings, HandoverReason, Outcome
from cx.chat.models import ChatConversation, ConversationStatus
from cx.core.audit import audit_record
from cx.core.errors import ValidationFailed
from cx.kb.selectors import article_matches, article_url_path
from cx.tickets.hooks import TicketChange
from cx.tickets.models import AuthorType, Channel, Message, Ticket, Visibility
from cx.tickets.services import ticket_reply

logger = logging.getLogger(__name__)

CHANNEL_FIELDS = {Channel.CHAT: "chat_enabled", Channel.EMAIL: "email_enabled", Channel.WEB: "web_enabled"}
YES, NO = "Yes", "No"
# Waiting this long for "did this answer your question?" makes the answer abandoned.
ABANDON_AFTER = {Channel.CHAT: timedelta(minutes=30), Channel.EMAIL: timedelta(days=3), Channel.WEB: timedelta(days=3)}
_PERSON = re.compile(r"\b(agent|agents|human|humans|person|people|someone|somebody|representative|rep|operator|"
                     r"staff|real person|live chat|talk to|speak to|speak with|talk with|support team|"
                     r"mensch|persona|agente|humano)\b", re.IGNORECASE)
_YES = {"yes", "y", "yep", "yeah", "yes thanks", "yes, thanks", "yes thank you", "it did", "thanks", "thank you",
        "perfect", "great", "solved", "that helped", "ok thanks"}
_NO = {"no", "n", "nope", "no it didn't", "not really", "it didn't", "didn't help", "did not help", "no, it didn't"}
MAX_QUESTION = 1000


def bot_actor() -> User:
    return system_user_get(username="answer-bot", label="Answer bot")


# --- settings -----------------------------------------------------------------------------------------------

def bot_settings_get() -> BotSettings:
    found, _ = BotSettings.objects.get_or_create(pk=1)
    return found


@transaction.atomic
def bot_settings_update(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None
                        ) -> BotSettings:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    known = {"chat_enabled", "email_enabled", "web_enabled", "threshold"}
    errors = dict.fromkeys(sorted(set(values) - known), "not a bot setting")
    for name in ("chat_enabled", "email_enabled", "web_enabled"):
        if name in values and not isinstance(values[name], bool):
            errors[name] = "true or false"
    if "threshold" in values:
        value = values["threshold"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            errors["threshold"] = "a number from 0 to 1"
    if errors:
        raise ValidationFailed("Invalid bot settings.", fields=errors)
    current = BotSettings.objects.select_for_update().get(pk=bot_settings_get().pk)
    changed = {}
    for name, value in values.items():
        value = float(value) if name == "threshold" else value
        if getattr(current, name) != value:
            changed[name] = [getattr(current, name), value]
            setattr(current, name, value)
    current.save()
    if changed:
        audit_record(actor=actor, action="bot.settings_updated", target_type="bot_settings", target_id=current.pk,
                     data={"changes": changed})
    return current


# --- the conversation -----------------------------------------------------------------------------------------

def on_ticket_change(change: TicketChange) -> None:
    """Ticket observer: a customer wrote (new ticket or reply) — let the bot look at it after commit."""
    if change.event not in ("created", "customer_replied") or change.message_id is None:
        return
    if change.event == "customer_replied" and not _may_act_on_reply(change.ticket_id, change.message_id):
        return
    message_id = change.message_id
    transaction.on_commit(lambda: _run_safely(message_id))


def _may_act_on_reply(ticket_id: int, message_id: int) -> bool:
    """A customer's reply matters to the bot only while an answer waits for their verdict, or when it is the
    ticket's first customer message (a ticket an agent opened): one or two cheap queries instead of the whole
    decision for every chat message."""
    if BotAnswer.objects.filter(ticket_id=ticket_id, outcome=Outcome.PENDING).exists():
        return True
    return not Message.objects.filter(ticket_id=ticket_id, author_type=AuthorType.CUSTOMER).exclude(
        pk=message_id).exists()


def _run_safely(message_id: int) -> None:
    try:
        bot_handle_message(message_id=message_id)
    except Exception:  # the bot must never break the customer's message; agents still get the ticket
        logger.exception("answer bot failed on message %s", message_id)


def asks_for_person(text: str) -> bool:
    return bool(_PERSON.search(text))


def _normalise(text: str) -> str:
    return re.sub(r"[!.\s]+$", "", " ".join(text.lower().split()))


@transaction.atomic
def bot_handle_message(*, message_id: int) -> BotAnswer | None:
    """Decide what the bot does with a customer's message; returns the ``BotAnswer`` touched, or None."""
    message = (Message.objects.select_related("ticket").filter(pk=message_id, author_type=AuthorType.CUSTOMER,
                                                              visibility=Visibility.PUBLIC).first())
    if message is None:
        return None
    ticket = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    config = bot_settings_get()
    field = CHANNEL_FIELDS.get(ticket.channel)
    if field is None:
        return None
    answers = BotAnswer.objects.filter(ticket=ticket)
    pending = answers.filter(outcome=Outcome.PENDING).first()
    # The bot speaks first, on a new ticket only, and stops for good once it handed over or was thanked.
    if pending is None and (answers.exists() or not getattr(config, field) or message.ticket.messages.filter(
            author_type=AuthorType.CUSTOMER).exclude(pk=message.pk).exists()):
        return None
    if not _agents_not_yet_involved(ticket):
        if pending is not None:
            _resolve(pending, Outcome.HANDED_OVER, reason=HandoverReason.ASKED_FOR_PERSON)
        return None
    text = message.body_text.strip()
    reply = _normalise(text)
    if pending is not None and reply in _YES:
        _resolve(pending, Outcome.ACCEPTED)
        _say(ticket, "Glad that helped! If you need anything else, write here and one of our agents will reply.")
        return pending
    if pending is not None and reply in _NO:
        return _handover(ticket, question=pending.question, pending=pending, reason=HandoverReason.NOT_HELPFUL)
    if asks_for_person(text):
        return _handover(ticket, question=text, pending=pending, reason=HandoverReason.ASKED_FOR_PERSON)
    if pending is not None:
        _resolve(pending, Outcome.ABANDONED)  # a new question instead of an answer to ours
    question = text if ticket.channel == Channel.CHAT else f"{ticket.subject}\n{text}"
    matches = article_matches(query=question[:MAX_QUESTION], limit=3)
    best = matches[0] if matches else None
    if best is None or best.similarity < config.threshold:
        return _handover(ticket, question=text, pending=None, reason=HandoverReason.LOW_SCORE,
                         similarity=best.similarity if best else None)
    # The row exists before the reply, so the widget frame built while replying already offers Yes / No.
    row = BotAnswer.objects.create(ticket=ticket, channel=ticket.channel, question=text[:MAX_QUESTION],
                                   article=best.article, article_title=best.article.title[:200],
                                   similarity=best.similarity)
    row.answer_message_id = _say(ticket, _answer_text(ticket, best)).pk
    row.save(update_fields=["answer_message_id"])
    return row


def _agents_not_yet_involved(ticket: Ticket) -> bool:
    """The bot talks only until an agent takes over: a chat still waiting, a ticket no agent answered."""
    if ticket.channel == Channel.CHAT:
        conversation = ChatConversation.objects.filter(ticket=ticket).first()
        return conversation is None or conversation.status == ConversationStatus.WAITING
    return not ticket.messages.filter(author_type=AuthorType.AGENT).exists()


def _passage(match) -> str:
    text = " ".join((match.snippet or match.article.body_text).split())
    if len(text) > 400:
        text = text[:400].rsplit(" ", 1)[0] + " …"
    return text


def _answer_text(ticket: Ticket, match) -> str:
    url = settings.CXDESK_BASE_URL.rstrip("/") + article_url_path(match.article)
    quoted = "\n".join(f"> {line}" for line in _passage(match).splitlines() or [""])
    ask = ("Did this answer your question?" if ticket.channel == Channel.CHAT else
           'Did this answer your question? Reply "yes" if it did, or "no" and one of our agents will take over.')
    return f"This article may help: {match.article.title}\n\n{quoted}\n\nRead more: {url}\n\n{ask}"


def _say(ticket: Ticket, text: str) -> Message:
    return ticket_reply(actor=bot_actor(), ticket=ticket, body=text, automated=True)


def _resolve(answer: BotAnswer, outcome: str, *, reason: str = "") -> None:
    answer.outcome = outcome
    answer.handover_reason = reason
    answer.resolved_at = timezone.now()
    answer.save(update_fields=["outcome", "handover_reason", "resolved_at"])


def _handover(ticket: Ticket, *, question: str, pending: BotAnswer | None, reason: str,
              similarity: float | None = None) -> BotAnswer:
    if pending is None:
        pending = BotAnswer.objects.create(ticket=ticket, channel=ticket.channel, question=question[:MAX_QUESTION],
                                           similarity=similarity)
    _resolve(pending, Outcome.HANDED_OVER, reason=reason)
    if ticket.channel == Channel.CHAT:
        _say(ticket, "I'm passing you to one of our agents now. They can see this conversation.")
    else:
        _say(ticket, "Thanks — one of our agents will reply to you here.")
    label = HandoverReason(reason).label
    ticket_reply(actor=bot_actor(), ticket=ticket, visibility=Visibility.INTERNAL, automated=True,
                 body=f"Answer bot handed over: {label}. The conversation above is the transcript.")
    audit_record(actor=None, action="bot.handed_over", target_type="ticket", target_id=ticket.pk,
                 data={"reason": reason})
    return pending


def bot_quick_replies(message: Message) -> list[str]:
    """Yes / No under the bot's answer in the chat widget while it waits for the visitor's verdict."""
    if message.author_type != AuthorType.SYSTEM:
        return []
    if BotAnswer.objects.filter(Q(answer_message_id=message.pk) | Q(answer_message_id=None, article__isnull=False),
                                ticket_id=message.ticket_id, outcome=Outcome.PENDING).exists():
        return [YES, NO]
    return []


def bot_abandon_stale(now: datetime | None = None) -> int:
    """Periodic job: answers nobody reacted to in time (or whose chat ended) count as abandoned."""
    now = now or timezone.now()
    count = 0
    for answer in BotAnswer.objects.filter(outcome=Outcome.PENDING).select_related("ticket"):
        ended = (answer.channel == Channel.CHAT and ChatConversation.objects.filter(
            ticket_id=answer.ticket_id, status=ConversationStatus.ENDED).exists())
        if ended or answer.created_at <= now - ABANDON_AFTER.get(answer.channel, timedelta(days=3)):
            _resolve(answer, Outcome.ABANDONED)
            count += 1
    return count


# --- report -------------------------------------------------------------------------------------------------

def bot_report(*, actor: User, days: int = 30, token_scope: AccessLevel | None = None) -> dict[str, Any]:
    require_access(actor, AccessLevel.READ, token_scope=token_scope)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationFailed("Invalid period.", fields={"days": "a whole number from 1 to 365"})
    since = timezone.now() - timedelta(days=days)
    rows = BotAnswer.objects.filter(created_at__gte=since)
    by_outcome = {row["outcome"]: row["n"] for row in rows.values("outcome").annotate(n=Count("id"))}
    by_reason = {row["handover_reason"]: row["n"] for row in rows.filter(outcome=Outcome.HANDED_OVER)
                 .values("handover_reason").annotate(n=Count("id"))}
    by_channel = {}
    for row in rows.values("channel", "outcome").annotate(n=Count("id")):
        by_channel.setdefault(row["channel"], {})[row["outcome"]] = row["n"]
    articles = list(rows.exclude(article_title="").values("article_id", "article_title")
                    .annotate(n=Count("id")).order_by("-n")[:10])
    answered = rows.exclude(answer_message_id=None).count()
    accepted = by_outcome.get(Outcome.ACCEPTED, 0)
    return {
        "days": days,
        "total": rows.count(),
        "answered": answered,
        "accepted": accepted,
        "handed_over": by_outcome.get(Outcome.HANDED_OVER, 0),
        "abandoned": by_outcome.get(Outcome.ABANDONED, 0),
        "pending": by_outcome.get(Outcome.PENDING, 0),
        "acceptance_rate": round(accepted / answered, 4) if answered else 0.0,
        "handover_reasons": by_reason,
        "by_channel": by_channel,
        "top_articles": [{"article_id": a["article_id"], "title": a["article_title"], "answers": a["n"]}
                         for a in articles],
    }


# --- customer data -------------------------------------------------------------------------------------------

class BotDataHandler:
    """Customer export and erasure reach the questions customers asked the bot (merge moves them with the
    customer's tickets, so there is nothing to reassign here)."""

    name = "bot"

    def export(self, *, customer_id: int) -> list[dict]:
        return [{"type": "bot_question", "ticket_id": row.ticket_id, "channel": row.channel,
                 "question": row.question, "article": row.article_title, "outcome": row.outcome,
                 "at": row.created_at.isoformat()}
                for row in BotAnswer.objects.filter(ticket__requester_id=customer_id).order_by("id")]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        return []

    def erase(self, *, customer_id: int) -> int:
        return BotAnswer.objects.filter(ticket__requester_id=customer_id).exclude(question="").update(question="")
