"""Background work for messaging: one delivery attempt of an agent's reply, after commit."""

from __future__ import annotations

from django_tasks import task


@task()
def send_outbound(*, outbound_id: int) -> str:
    """Make one attempt; safe to run twice (the attempt is claimed by one UPDATE)."""
    from cx.messaging.services import outbound_attempt  # the services module queues this task

    outbound = outbound_attempt(outbound_id=outbound_id)
    return outbound.status if outbound is not None else "skipped"


@task()
def fetch_inbound_media(*, inbound_event_id: int) -> int:
    """Download a customer's media files into the message's attachments; returns how many were stored."""
    from cx.messaging.services import inbound_media_fetch

    return inbound_media_fetch(inbound_event_id=inbound_event_id)


@task()
def answer_telegram_callback(*, connector_id: int, callback_query_id: str) -> bool:
    """Stop the spinner on the button the customer pressed (one attempt: Telegram expires it quickly)."""
    from cx.messaging.services import telegram_callback_answer

    return telegram_callback_answer(connector_id=connector_id, callback_query_id=callback_query_id)


@task()
def fetch_messenger_profile(*, connector_id: int, customer_id: int, psid: str) -> bool:
    """Name a new Messenger customer from the User Profile API (webhooks carry only an id)."""
    from cx.messaging.services import messenger_profile_fetch

    return messenger_profile_fetch(connector_id=connector_id, customer_id=customer_id, psid=psid)
