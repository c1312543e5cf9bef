"""Submissions of the public web form: which ticket each opened and where its confirmation went."""

from __future__ import annotations

from django.db import models


class WebFormSubmission(models.Model):
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    # The address the visitor typed, which the confirmation goes to (a customer may have several).
    email = models.EmailField(max_length=255, blank=True)  # emptied when the customer is erased
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"web form → ticket {self.ticket_id}"
