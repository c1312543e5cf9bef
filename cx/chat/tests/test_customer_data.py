"""Chat visitors are customer data: export lists them, erasure strips what they typed and where they were."""

from __future__ import annotations

import pytest

from cx.chat.models import ChatConversation, ChatVisitor
from cx.chat.services import chat_conversation_start, chat_session_open
from cx.customers.services import customer_erase, customer_export

pytestmark = pytest.mark.django_db


def test_export_and_erasure_reach_chat_visitors(admin_user, chat_inbox, online_agent):
    online_agent()
    visitor = chat_session_open(inbox=chat_inbox, page_url="https://shop.example.com/orders/77",
                                referrer="https://search.example.net/?q=refund").visitor
    conversation = chat_conversation_start(visitor=visitor, fields={"name": "Eve", "email": "eve@example.com"},
                                           body="Where is my refund?")
    customer = conversation.ticket.requester
    exported = customer_export(actor=admin_user, customer=customer)
    chat = exported["chat"]
    assert chat[0]["email"] == "eve@example.com" and chat[0]["current_url"].endswith("/orders/77")
    assert chat[0]["conversations"][0]["pre_chat"] == {"name": "Eve", "email": "eve@example.com"}

    customer_erase(actor=admin_user, customer=customer)
    visitor = ChatVisitor.objects.get(pk=visitor.pk)
    assert (visitor.name, visitor.email, visitor.current_url, visitor.referrer) == ("", "", "", "")
    assert ChatConversation.objects.get(pk=conversation.pk).pre_chat == {}
