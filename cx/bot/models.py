"""The answer bot: its settings (one row) and one ``BotAnswer`` per conversation step the bot took on a ticket
(an answer offered, or a handover), with its outcome."""

from __future__ import annotations

from django.db import models


class BotSettings(models.Model):
    chat_enabled = models.BooleanField(default=False)
    email_enabled = models.BooleanField(default=False)
    web_enabled = models.BooleanField(default=False)
    # Cosine similarity (-1..1) of the question and the best published article; below it the bot hands over.
    threshold = models.FloatField(default=0.6)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "bot settings"

    def __str__(self) -> str:
        return f"Answer bot (threshold {self.threshold})"


class Outcome(models.TextChoices):
    PENDING = "pending", "Waiting for the customer"
    ACCEPTED = "accepted", "Answered and accepted"
    HANDED_OVER = "handed_over", "Handed over"
    ABANDONED = "abandoned", "Abandoned"


class HandoverReason(models.TextChoices):
    NOT_HELPFUL = "not_helpful", "Customer said the answer did not help"
    LOW_SCORE = "low_score", "No article passed the threshold"
    ASKED_FOR_PERSON = "asked_for_person", "Customer asked for a person"


class BotAnswer(models.Model):
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="bot_answers")
    channel = models.CharField(max_length=16)
    question = models.TextField()
    article = models.ForeignKey("kb.Article", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="bot_answers")
    article_title = models.CharField(max_length=200, blank=True)
    similarity = models.FloatField(null=True, blank=True)
    answer_message_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING, db_index=True)
    handover_reason = models.CharField(max_length=20, choices=HandoverReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bot on ticket {self.ticket_id}: {self.outcome}"
