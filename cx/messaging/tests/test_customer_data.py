"""Customer merge, export and erasure reach messaging conversations and the call log."""

from __future__ import annotations

from cx.customers.services import customer_create, customer_erase, customer_export, customer_merge
from cx.messaging.models import Conversation
from cx.messaging.tests.conftest import ADAPTERS_DIR, post_webhook
from cx.tickets.models import Ticket


def test_merge_moves_the_conversation_and_replies_continue(make_connector, admin_user):
    connector = make_connector("telegram")
    post_webhook(connector, (ADAPTERS_DIR / "telegram/fixtures/02_message_text.json").read_bytes())
    telegram_customer = Ticket.objects.get().requester
    known = customer_create(actor=admin_user, display_name="Known customer")
    customer_merge(actor=admin_user, source=telegram_customer, target=known)
    assert Conversation.objects.get().customer == known
    document = customer_export(actor=admin_user, customer=known)
    assert document["messaging"][0]["contact_id"] == "1111111"
    post_webhook(connector, (ADAPTERS_DIR / "telegram/fixtures/06_edited_message.json").read_bytes())
    assert Ticket.objects.count() == 1 and Ticket.objects.get().messages.count() == 2


def test_erasure_removes_conversations_and_call_details(make_connector, admin_user):
    from django.utils import timezone

    from cx.voice.models import Call

    connector = make_connector("twilio_sms")
    post_webhook(connector, {"MessageSid": "SM1", "AccountSid": "4444", "From": "+15551234567", "Body": "hi",
                             "NumMedia": "0"})
    customer = Ticket.objects.get().requester
    Call.objects.create(customer=customer, from_number="+15551234567", to_number="+18005550100",
                        started_at=timezone.now(), transcript="my card number is", recording_url="https://x.test/r")
    customer_erase(actor=admin_user, customer=customer)
    assert not Conversation.objects.exists()
    call = Call.objects.get()
    assert call.from_number == "" and call.transcript == "" and call.recording_url == ""
