"""API endpoints: chat inboxes (admins; the identity secret is returned only when it is generated) and the
agent's actions on chats (accept, transfer, end)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.chat import selectors, services
from cx.chat.schemas import (
    ChatConversationOut,
    ChatInboxCreatedOut,
    ChatInboxIn,
    ChatInboxOut,
    ChatQueueOut,
    ChatTransferIn,
)

router = Router(tags=["chat"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def _with_secret(created: services.InboxWithSecret) -> dict:
    out = ChatInboxOut.from_orm(created.inbox).model_dump()
    out["identity_secret"] = created.identity_secret
    return out


@router.get("/chat/inboxes", response=list[ChatInboxOut], summary="Chat inboxes (admins)")
def inbox_list(request: HttpRequest):
    return selectors.chat_inbox_list(actor=request.auth, token_scope=_scope(request))


@router.post("/chat/inboxes", response={201: ChatInboxCreatedOut},
             summary="Create a chat inbox; the identity secret is in this response only")
def inbox_create(request: HttpRequest, payload: ChatInboxIn):
    created = services.chat_inbox_create(actor=request.auth, values=payload.model_dump(exclude_unset=True),
                                         token_scope=_scope(request))
    return _with_secret(created)


@router.get("/chat/inboxes/{int:inbox_id}", response=ChatInboxOut, summary="One chat inbox (no secret)")
def inbox_get(request: HttpRequest, inbox_id: int):
    return selectors.chat_inbox_get_for(actor=request.auth, inbox_id=inbox_id, token_scope=_scope(request))


@router.patch("/chat/inboxes/{int:inbox_id}", response=ChatInboxOut, summary="Change some settings of an inbox")
def inbox_update(request: HttpRequest, inbox_id: int, payload: ChatInboxIn):
    inbox = selectors.chat_inbox_get_for(actor=request.auth, inbox_id=inbox_id, token_scope=_scope(request))
    return services.chat_inbox_update(actor=request.auth, inbox=inbox, values=payload.model_dump(exclude_unset=True),
                                      token_scope=_scope(request))


@router.post("/chat/inboxes/{int:inbox_id}/rotate-secret", response=ChatInboxCreatedOut,
             summary="Generate a new identity secret (the old one stops working); shown in this response only")
def inbox_rotate_secret(request: HttpRequest, inbox_id: int):
    inbox = selectors.chat_inbox_get_for(actor=request.auth, inbox_id=inbox_id, token_scope=_scope(request))
    return _with_secret(services.chat_inbox_rotate_secret(actor=request.auth, inbox=inbox, token_scope=_scope(request)))


@router.get("/chat/queue", response=ChatQueueOut, summary="Waiting chats, yours, and other agents' live chats")
def queue(request: HttpRequest):
    return selectors.chat_queue(actor=request.auth, token_scope=_scope(request))


@router.post("/chat/conversations/{int:conversation_id}/accept", response=ChatConversationOut,
             summary="Accept a waiting chat (the ticket is assigned to you)")
def accept(request: HttpRequest, conversation_id: int):
    conversation = selectors.conversation_get_for(actor=request.auth, conversation_id=conversation_id,
                                                  token_scope=_scope(request))
    return services.chat_accept(actor=request.auth, conversation=conversation, token_scope=_scope(request))


@router.post("/chat/conversations/{int:conversation_id}/transfer", response=ChatConversationOut,
             summary="Transfer a live chat to an agent or a team")
def transfer(request: HttpRequest, conversation_id: int, payload: ChatTransferIn):
    conversation = selectors.conversation_get_for(actor=request.auth, conversation_id=conversation_id,
                                                  token_scope=_scope(request))
    values = payload.model_dump(exclude_unset=True)
    return services.chat_transfer(actor=request.auth, conversation=conversation, agent_id=values.get("agent_id"),
                                  team_id=values.get("team_id"), token_scope=_scope(request))


@router.post("/chat/conversations/{int:conversation_id}/end", response=ChatConversationOut,
             summary="End a live chat; the ticket keeps the transcript")
def end(request: HttpRequest, conversation_id: int):
    conversation = selectors.conversation_get_for(actor=request.auth, conversation_id=conversation_id,
                                                  token_scope=_scope(request))
    return services.chat_end_by_agent(actor=request.auth, conversation=conversation, token_scope=_scope(request))
