"""Intent routing: admin mapping and settings, labelled examples, training, predicting and correcting tickets.

A new ticket is classified inside its creating transaction (the ticket observer). When the prediction is at
least as confident as the admin threshold and the label maps to a team / priority / tags, the automatic
"Intent routing" account applies them through ``ticket_update`` (audited, loop-protected), and routing then
assigns an agent. Agents see the prediction on the ticket and correct it; a correction (or a confirmation)
becomes a labelled example for the next training run.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from cx.accounts.models import AccessLevel, Team, User
from cx.accounts.services import require_access, system_user_get
from cx.core.audit import audit_record
from cx.core.errors import Conflict, NotFound, ValidationFailed
from cx.intents.classifier import IntentClassifier, NotEnoughData, Prediction, check_training_data
from cx.intents.models import (
    ExampleSource,
    IntentExample,
    IntentLabel,
    IntentModel,
    IntentSettings,
    ModelStatus,
    TicketIntent,
)
from cx.tickets.hooks import TicketChange, acting_automation
from cx.tickets.models import Priority, Ticket
from cx.tickets.services import ticket_update

logger = logging.getLogger("cx.intents")

LABEL_NAME = re.compile(r"^[\w][\w .:/-]{0,99}$", re.UNICODE)
MAX_EXAMPLE_CHARS = 5_000
MAX_IMPORT_ROWS = 200_000
HOLDOUT_SHARE = 0.1  # share of examples kept aside to report accuracy after training
SYSTEM_USERNAME = "system-intent-routing"


# ----- settings and the label mapping (admins) -----

def intent_settings_get() -> IntentSettings:
    settings_row, _ = IntentSettings.objects.get_or_create(pk=1)
    return settings_row


@transaction.atomic
def intent_settings_update(*, actor: User, values: dict[str, Any],
                           token_scope: AccessLevel | None = None) -> IntentSettings:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    row = intent_settings_get()
    errors: dict[str, str] = {}
    unknown = set(values) - {"threshold", "routing_enabled", "retrain_every_hours"}
    errors.update(dict.fromkeys(sorted(unknown), "unknown field"))
    if "threshold" in values:
        threshold = values["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            errors["threshold"] = "Must be a number between 0 and 1."
    if "routing_enabled" in values and not isinstance(values["routing_enabled"], bool):
        errors["routing_enabled"] = "Must be true or false."
    if "retrain_every_hours" in values:
        hours = values["retrain_every_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int) or not 0 <= hours <= 24 * 90:
            errors["retrain_every_hours"] = "Must be a whole number of hours from 0 (never) to 2160."
    if errors:
        raise ValidationFailed("Invalid intent settings.", fields=errors)
    before = {name: getattr(row, name) for name in values}
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    audit_record(actor=actor, action="intents.settings_updated", target_type="intent_settings", target_id=row.pk,
                 data={name: [before[name], value] for name, value in values.items()})
    return row


def _clean_label_values(values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    unknown = set(values) - {"name", "description", "team_id", "priority", "tags"}
    errors.update(dict.fromkeys(sorted(unknown), "unknown field"))
    if "name" in values or not partial:
        name = values.get("name")
        if not isinstance(name, str) or not LABEL_NAME.match(name.strip()):
            errors["name"] = "Required: up to 100 letters, digits, spaces or _ . : / -"
        else:
            clean["name"] = name.strip()
    if "description" in values:
        if not isinstance(values["description"], str) or len(values["description"]) > 2000:
            errors["description"] = "Must be text of at most 2,000 characters."
        else:
            clean["description"] = values["description"]
    if "team_id" in values:
        team_id = values["team_id"]
        if team_id is not None and not Team.objects.filter(pk=team_id).exists():
            errors["team_id"] = "No such team."
        else:
            clean["team_id"] = team_id
    if "priority" in values:
        priority = values["priority"] or ""
        if priority and priority not in Priority.values:
            errors["priority"] = f"Must be one of {', '.join(Priority.values)} or empty."
        else:
            clean["priority"] = priority
    if "tags" in values:
        tags = values["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t.strip()) <= 50 for t in tags):
            errors["tags"] = "Must be a list of tags of at most 50 characters."
        else:
            clean["tags"] = sorted({"-".join(t.strip().lower().split()) for t in tags})
    if errors:
        raise ValidationFailed("Invalid intent.", fields=errors)
    return clean


@transaction.atomic
def intent_label_create(*, actor: User, values: dict[str, Any], token_scope: AccessLevel | None = None) -> IntentLabel:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean_label_values(values, partial=False)
    if IntentLabel.objects.filter(name=clean["name"]).exists():
        raise Conflict(f"An intent named {clean['name']!r} exists.", fields={"name": "Already used."})
    label = IntentLabel.objects.create(**clean)
    audit_record(actor=actor, action="intents.label_created", target_type="intent_label", target_id=label.pk,
                 data={"name": label.name})
    return label


@transaction.atomic
def intent_label_update(*, actor: User, label: IntentLabel, values: dict[str, Any],
                        token_scope: AccessLevel | None = None) -> IntentLabel:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    clean = _clean_label_values(values, partial=True)
    if "name" in clean and IntentLabel.objects.filter(name=clean["name"]).exclude(pk=label.pk).exists():
        raise Conflict(f"An intent named {clean['name']!r} exists.", fields={"name": "Already used."})
    changes = {name: [getattr(label, name), value] for name, value in clean.items() if getattr(label, name) != value}
    for name, value in clean.items():
        setattr(label, name, value)
    label.save()
    audit_record(actor=actor, action="intents.label_updated", target_type="intent_label", target_id=label.pk,
                 data=changes)
    return label


@transaction.atomic
def intent_label_delete(*, actor: User, label: IntentLabel, token_scope: AccessLevel | None = None) -> None:
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    audit_record(actor=actor, action="intents.label_deleted", target_type="intent_label", target_id=label.pk,
                 data={"name": label.name, "examples": label.examples.count()})
    label.delete()


# ----- labelled examples -----

@dataclass(frozen=True)
class ImportResult:
    created: int
    labels_created: list[str]


@transaction.atomic
def intent_examples_import(*, actor: User, rows: list[tuple[str, str]],
                           token_scope: AccessLevel | None = None) -> ImportResult:
    """Add labelled examples (text, intent name); unknown intents are created without a mapping."""
    require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    if not rows:
        raise ValidationFailed("No examples to import.", fields={"examples": "Add at least one row."})
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationFailed("Too many examples.", fields={"examples": f"At most {MAX_IMPORT_ROWS:,} per import."})
    errors: dict[str, str] = {}
    for number, (text, label) in enumerate(rows, start=1):
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_EXAMPLE_CHARS:
            errors[f"examples.{number}.text"] = f"Required, at most {MAX_EXAMPLE_CHARS:,} characters."
        if not isinstance(label, str) or not LABEL_NAME.match(label.strip()):
            errors[f"examples.{number}.category"] = "Required: up to 100 letters, digits, spaces or _ . : / -"
        if len(errors) >= 20:
            break
    if errors:
        raise ValidationFailed("Some examples are invalid; nothing was imported.", fields=errors)
    labels = {label.name: label for label in IntentLabel.objects.all()}
    created_labels = []
    for name in sorted({label.strip() for _, label in rows} - set(labels)):
        labels[name] = IntentLabel.objects.create(name=name)
        created_labels.append(name)
    IntentExample.objects.bulk_create(
        [IntentExample(text=text.strip(), label=labels[label.strip()], source=ExampleSource.IMPORT,
                       created_by=actor) for text, label in rows], batch_size=2000)
    audit_record(actor=actor, action="intents.examples_imported", target_type="intent_settings", target_id=1,
                 data={"examples": len(rows), "labels_created": created_labels})
    return ImportResult(created=len(rows), labels_created=created_labels)


# ----- training -----

@transaction.atomic
def intent_training_request(*, actor: User | None, trigger: str = "admin",
                            token_scope: AccessLevel | None = None) -> IntentModel:
    """Queue a training run (the task worker trains it); refuses at once when the data cannot train."""
    if actor is not None:
        require_access(actor, AccessLevel.ADMIN, token_scope=token_scope)
    _training_data_or_error()
    if IntentModel.objects.filter(status__in=[ModelStatus.QUEUED, ModelStatus.TRAINING]).exists():
        raise Conflict("A training run is already queued or running.")
    run = IntentModel.objects.create(status=ModelStatus.QUEUED, trigger=trigger)
    if actor is not None:
        audit_record(actor=actor, action="intents.training_requested", target_type="intent_model",
                     target_id=run.pk, data={"trigger": trigger})
    from cx.intents.tasks import train_intent_model

    transaction.on_commit(lambda: train_intent_model.enqueue(model_id=run.pk))
    return run


def _training_data_or_error() -> tuple[list[str], list[str]]:
    rows = list(IntentExample.objects.values_list("text", "label__name"))
    texts, labels = [r[0] for r in rows], [r[1] for r in rows]
    try:
        check_training_data(labels)
    except NotEnoughData as exc:
        raise ValidationFailed(str(exc), fields={"examples": str(exc)}, code="not_enough_data") from None
    return texts, labels


def _holdout_split(texts: list[str], labels: list[str]) -> tuple[list[int], list[int]]:
    """Per label, every tenth example (at least one when the label has ten) is held out to measure accuracy."""
    rng = random.Random(7)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    train, test = [], []
    for indices in by_label.values():
        rng.shuffle(indices)
        cut = int(len(indices) * HOLDOUT_SHARE) if len(indices) >= 10 else 0
        test += indices[:cut]
        train += indices[cut:]
    return sorted(train), sorted(test)


def intent_classifier_new() -> IntentClassifier:
    """An untrained classifier as this installation trains them (the transformer stage per settings); the
    training runs and `cxdesk eval intents` both start from here."""
    from django.conf import settings

    return IntentClassifier(transformer=settings.INTENT_TRANSFORMER)


def intent_model_train(*, model_id: int | None = None, trigger: str = "command") -> IntentModel:
    """Train now (in this process) and activate the result. Used by the task, the command and the schedule.

    Raises ValidationFailed (and records a failed run) when there is too little labelled data."""
    run = IntentModel.objects.filter(pk=model_id).first() if model_id else None
    if run is None:
        run = IntentModel.objects.create(status=ModelStatus.QUEUED, trigger=trigger)
    elif run.status not in (ModelStatus.QUEUED,):
        return run  # a second run of the same task: already handled
    IntentModel.objects.filter(pk=run.pk).update(status=ModelStatus.TRAINING)
    try:
        texts, labels = _training_data_or_error()
        train_idx, test_idx = _holdout_split(texts, labels)
        holdout_accuracy = None
        if test_idx:
            probe = intent_classifier_new().fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
            predictions = probe.predict([texts[i] for i in test_idx])
            holdout_accuracy = sum(p.label == labels[i] for p, i in zip(predictions, test_idx, strict=True)) / len(
                test_idx)
        classifier = intent_classifier_new().fit(texts, labels)
    except ValidationFailed as exc:
        _finish(run, status=ModelStatus.FAILED, error=exc.message)
        raise
    except Exception as exc:
        logger.exception("intent training %s failed", run.pk)
        _finish(run, status=ModelStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    with transaction.atomic():
        IntentModel.objects.filter(is_active=True).update(is_active=False)
        _finish(run, status=ModelStatus.READY, artifact=classifier.to_bytes(), is_active=True,
                examples=classifier.trained_examples, labels=classifier.labels,
                skipped_labels=classifier.skipped_labels, holdout_accuracy=holdout_accuracy,
                training_seconds=round(classifier.training_seconds, 2))
    run.refresh_from_db()
    return run


def _finish(run: IntentModel, **values: Any) -> None:
    values["finished_at"] = timezone.now()
    IntentModel.objects.filter(pk=run.pk).update(**values)


def intent_retrain_job(now) -> str:
    """Periodic: retrain when the interval has passed and there are new examples since the active model."""
    settings_row = intent_settings_get()
    if settings_row.retrain_every_hours == 0:
        return "disabled"
    active = IntentModel.objects.filter(is_active=True).first()
    if active is not None:
        if now - active.created_at < timezone.timedelta(hours=settings_row.retrain_every_hours):
            return "not due"
        if not IntentExample.objects.filter(created_at__gt=active.created_at).exists():
            return "no new examples"
    try:
        intent_training_request(actor=None, trigger="schedule")
    except (ValidationFailed, Conflict) as exc:
        return f"skipped: {exc}"
    return "queued"


# ----- predicting -----

_loaded: dict[tuple[int, Any], IntentClassifier] = {}  # by (pk, finished_at): a reused pk is not mistaken
_loaded_lock = threading.Lock()


def active_classifier() -> tuple[IntentModel, IntentClassifier] | None:
    """The active trained model, loaded once per process (and again when a newer one is activated)."""
    row = IntentModel.objects.filter(is_active=True, status=ModelStatus.READY).only("pk", "finished_at").first()
    if row is None:
        return None
    key = (row.pk, row.finished_at)
    with _loaded_lock:
        classifier = _loaded.get(key)
        if classifier is None:
            artifact = IntentModel.objects.values_list("artifact", flat=True).get(pk=row.pk)
            classifier = IntentClassifier.from_bytes(bytes(artifact))
            _loaded.clear()
            _loaded[key] = classifier
    return row, classifier


def intent_predict(*, text: str) -> tuple[IntentModel, Prediction]:
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("Enter a text to classify.", fields={"text": "Must not be empty."})
    if len(text) > MAX_EXAMPLE_CHARS * 4:
        raise ValidationFailed("The text is too long.",
                               fields={"text": f"At most {MAX_EXAMPLE_CHARS * 4:,} characters."})
    loaded = active_classifier()
    if loaded is None:
        raise Conflict("No intent model is trained yet: import labelled examples and train one.",
                       code="no_model")
    row, classifier = loaded
    return row, classifier.predict([text])[0]


def ticket_text(ticket: Ticket) -> str:
    first = ticket.messages.order_by("created_at", "id").values_list("body_text", flat=True).first() or ""
    return f"{ticket.subject}\n{first}".strip()


def on_ticket_change(change: TicketChange) -> None:
    """Ticket observer: classify new tickets and, when confident enough, route them by the label's mapping."""
    if change.event != "created":
        return
    loaded = active_classifier()
    if loaded is None:
        return
    row, classifier = loaded
    ticket = Ticket.objects.get(pk=change.ticket_id)
    text = ticket_text(ticket)
    if not text:
        return
    prediction = classifier.predict([text])[0]
    label = IntentLabel.objects.filter(name=prediction.label).select_related("team").first()
    intent = TicketIntent.objects.update_or_create(ticket=ticket, defaults={
        "label": label, "confidence": round(prediction.confidence, 4), "model": row,
        "alternatives": [[name, round(p, 4)] for name, p in prediction.alternatives],
        "predicted_at": timezone.now(), "routed": False})[0]
    settings_row = intent_settings_get()
    if label is None or not settings_row.routing_enabled or prediction.confidence < settings_row.threshold:
        return
    changes = routing_changes(ticket=ticket, label=label)
    if changes:
        actor = system_user_get(username=SYSTEM_USERNAME, label="Intent routing")
        with acting_automation():
            ticket_update(actor=actor, ticket=ticket, changes=changes)
    intent.routed = True
    intent.save(update_fields=["routed"])


def routing_changes(*, ticket: Ticket, label: IntentLabel) -> dict[str, Any]:
    """What the label's mapping changes on a new ticket: the team and priority only where nobody chose one
    (no team; the default priority), tags are added."""
    changes: dict[str, Any] = {}
    if label.team_id and ticket.team_id is None:
        changes["team_id"] = label.team_id
    if label.priority and ticket.priority == Priority.NORMAL and label.priority != ticket.priority:
        changes["priority"] = label.priority
    current = list(ticket.tags.values_list("name", flat=True))
    missing = [tag for tag in label.tags if tag not in current]
    if missing:
        changes["tags"] = [*current, *missing]
    return changes


# ----- agents' corrections -----

@transaction.atomic
def ticket_intent_correct(*, actor: User, ticket: Ticket, label_id: int,
                          token_scope: AccessLevel | None = None) -> TicketIntent:
    """An agent sets the right intent of a ticket (the predicted one confirms it); the ticket's text becomes a
    labelled example for the next training run."""
    require_access(actor, AccessLevel.WRITE, token_scope=token_scope)
    label = IntentLabel.objects.filter(pk=label_id).first()
    if label is None:
        raise ValidationFailed("Unknown intent.", fields={"label_id": "No such intent."})
    text = ticket_text(ticket)[:MAX_EXAMPLE_CHARS]
    if not text:
        raise ValidationFailed("This ticket has no text to learn from.", fields={"label_id": "Ticket is empty."})
    intent, _ = TicketIntent.objects.select_for_update().get_or_create(ticket=ticket)
    before = intent.final_label.name if intent.final_label else None
    intent.corrected_label, intent.corrected_by, intent.corrected_at = label, actor, timezone.now()
    intent.save(update_fields=["corrected_label", "corrected_by", "corrected_at"])
    source = ExampleSource.CONFIRMATION if intent.label_id == label.pk else ExampleSource.CORRECTION
    IntentExample.objects.update_or_create(ticket=ticket, defaults={
        "text": text, "label": label, "source": source, "created_by": actor})
    audit_record(actor=actor, action="intents.ticket_corrected", target_type="ticket", target_id=ticket.pk,
                 data={"intent": [before, label.name], "predicted": intent.label.name if intent.label else None})
    return intent


def intent_label_get(*, label_id: int) -> IntentLabel:
    label = IntentLabel.objects.select_related("team").filter(pk=label_id).first()
    if label is None:
        raise NotFound(f"Intent {label_id} does not exist.")
    return label
