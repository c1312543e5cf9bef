"""API endpoints for intent routing: the admin mapping, settings, examples and training runs; predictions;
agents' corrections of a ticket's intent."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from cx.accounts.models import AccessLevel
from cx.accounts.services import require_access
from cx.core.errors import NotFound
from cx.intents import selectors, services
from cx.intents.models import TicketIntent
from cx.intents.schemas import (
    ExamplesImportOut,
    ExamplesIn,
    IntentLabelIn,
    IntentLabelOut,
    IntentLabelPatchIn,
    IntentModelOut,
    IntentSettingsIn,
    IntentSettingsOut,
    PredictIn,
    PredictionOut,
    TicketIntentCorrectIn,
    TicketIntentOut,
)
from cx.tickets.selectors import ticket_get_for

router = Router(tags=["intents"])


def _scope(request: HttpRequest) -> AccessLevel | None:
    return getattr(request, "auth_scope", None)


def ticket_intent_out(ticket_id: int, intent: TicketIntent) -> dict:
    return {"ticket_id": ticket_id, "label": intent.label.name if intent.label else None,
            "confidence": intent.confidence, "alternatives": [tuple(a) for a in intent.alternatives],
            "routed": intent.routed, "predicted_at": intent.predicted_at,
            "corrected_label": intent.corrected_label.name if intent.corrected_label else None,
            "corrected_by": intent.corrected_by.get_username() if intent.corrected_by else None,
            "corrected_at": intent.corrected_at}


@router.get("/intents/labels", response=list[IntentLabelOut], summary="Intents and their routing mapping")
def label_list(request: HttpRequest):
    return list(selectors.intent_label_list(actor=request.auth, token_scope=_scope(request)))


@router.post("/intents/labels", response={201: IntentLabelOut}, summary="Create an intent (admins)")
def label_create(request: HttpRequest, payload: IntentLabelIn):
    label = services.intent_label_create(actor=request.auth, values=payload.model_dump(), token_scope=_scope(request))
    return selectors.intent_label_get_for(actor=request.auth, label_id=label.pk, token_scope=_scope(request))


@router.patch("/intents/labels/{int:label_id}", response=IntentLabelOut,
              summary="Change an intent's name or mapping (team, priority, tags) (admins)")
def label_update(request: HttpRequest, label_id: int, payload: IntentLabelPatchIn):
    label = selectors.intent_label_get_for(actor=request.auth, label_id=label_id, token_scope=_scope(request))
    services.intent_label_update(actor=request.auth, label=label, values=payload.model_dump(exclude_unset=True),
                                 token_scope=_scope(request))
    return selectors.intent_label_get_for(actor=request.auth, label_id=label_id, token_scope=_scope(request))


@router.delete("/intents/labels/{int:label_id}", response={204: None},
               summary="Delete an intent and its examples (admins)")
def label_delete(request: HttpRequest, label_id: int):
    label = selectors.intent_label_get_for(actor=request.auth, label_id=label_id, token_scope=_scope(request))
    services.intent_label_delete(actor=request.auth, label=label, token_scope=_scope(request))
    return None


@router.get("/intents/settings", response=IntentSettingsOut, summary="Routing threshold and retraining schedule")
def settings_get(request: HttpRequest):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    return services.intent_settings_get()


@router.patch("/intents/settings", response=IntentSettingsOut, summary="Change the settings (admins)")
def settings_update(request: HttpRequest, payload: IntentSettingsIn):
    return services.intent_settings_update(actor=request.auth, values=payload.model_dump(exclude_unset=True),
                                           token_scope=_scope(request))


@router.post("/intents/examples", response={201: ExamplesImportOut},
             summary="Add labelled examples (text, category); unknown categories become intents (admins)")
def examples_import(request: HttpRequest, payload: ExamplesIn):
    result = services.intent_examples_import(actor=request.auth, token_scope=_scope(request),
                                             rows=[(e.text, e.category) for e in payload.examples])
    return {"created": result.created, "labels_created": result.labels_created}


@router.get("/intents/models", response=list[IntentModelOut], summary="Training runs, newest first (admins)")
def model_list(request: HttpRequest):
    return selectors.intent_model_list(actor=request.auth, token_scope=_scope(request))


@router.get("/intents/models/{int:model_id}", response=IntentModelOut, summary="One training run (admins)")
def model_get(request: HttpRequest, model_id: int):
    return selectors.intent_model_get_for(actor=request.auth, model_id=model_id, token_scope=_scope(request))


@router.post("/intents/train", response={202: IntentModelOut},
             summary="Queue a training run on all labelled examples (admins); poll /intents/models/{id}")
def train(request: HttpRequest):
    run = services.intent_training_request(actor=request.auth, trigger="api", token_scope=_scope(request))
    return selectors.intent_model_get_for(actor=request.auth, model_id=run.pk, token_scope=_scope(request))


@router.post("/intents/predict", response=PredictionOut, summary="Classify a text with the active model")
def predict(request: HttpRequest, payload: PredictIn):
    require_access(request.auth, AccessLevel.READ, token_scope=_scope(request))
    row, prediction = services.intent_predict(text=payload.text)
    return {"label": prediction.label, "confidence": round(prediction.confidence, 4),
            "alternatives": [(n, round(p, 4)) for n, p in prediction.alternatives], "model_id": row.pk}


@router.get("/tickets/{int:ticket_id}/intent", response=TicketIntentOut,
            summary="The predicted (and corrected) intent of a ticket")
def ticket_intent(request: HttpRequest, ticket_id: int):
    intent = selectors.ticket_intent_for(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))
    if intent is None:
        raise NotFound(f"Ticket {ticket_id} has no intent prediction.")
    return ticket_intent_out(ticket_id, intent)


@router.put("/tickets/{int:ticket_id}/intent", response=TicketIntentOut,
            summary="Correct (or confirm) a ticket's intent; the ticket becomes a training example")
def ticket_intent_correct(request: HttpRequest, ticket_id: int, payload: TicketIntentCorrectIn):
    ticket = ticket_get_for(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))
    services.ticket_intent_correct(actor=request.auth, ticket=ticket, label_id=payload.label_id,
                                   token_scope=_scope(request))
    intent = selectors.ticket_intent_for(actor=request.auth, ticket_id=ticket_id, token_scope=_scope(request))
    return ticket_intent_out(ticket_id, intent)
