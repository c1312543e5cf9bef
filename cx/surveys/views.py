"""Survey pages: the builder (with preview), sending to a segment, the dashboard, responses (and CSV),
closed-loop follow-ups and the delivery policy for agents; the public survey pages (no login) for customers;
and the satisfaction card loaded into the ticket page's customer sidebar."""

from __future__ import annotations

import csv
import json
import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cx.core.errors import DomainError, ValidationFailed
from cx.core.views import render_domain_error
from cx.surveys import in_app, selectors, services, targeting
from cx.surveys.branding import white_text_contrast_ok as _contrast_ok
from cx.surveys.locales import strings
from cx.surveys.models import (
    DeliveryPolicy,
    InAppPosition,
    InAppRecurrence,
    Invitation,
    Locale,
    LoopState,
    QuestionKind,
    Sentiment,
    Survey,
    SurveyKind,
    SurveyStatus,
    Theme,
    Trigger,
)
from cx.tickets.models import Priority

INT_FIELDS = ("delay_minutes", "event_delay_days", "recurring_days", "sampling_percent")


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render_domain_error(request, error, app="surveys")


def _int_or_raw(value: str) -> Any:
    value = (value or "").strip()
    return int(value) if value.lstrip("-").isdigit() and len(value) < 10 else value


# --- survey list and builder ------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def survey_list(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            survey = services.survey_create(actor=request.user, values={
                "name": request.POST.get("name", ""), "kind": request.POST.get("kind", "")})
        except ValidationFailed as error:
            errors = error.fields
        except DomainError as error:
            return _error(request, error)
        else:
            messages.success(request, f"Survey “{survey.name}” created as a draft.")
            return redirect("surveys:detail", survey.pk)
    try:
        surveys = list(selectors.survey_list(actor=request.user))
    except DomainError as error:
        return _error(request, error)
    return render(request, "surveys/list.html", {
        "surveys": surveys, "kinds": SurveyKind.choices, "errors": errors, "form": request.POST,
        "loop": selectors.loop_counts(),
    }, status=422 if errors else 200)


def _survey(request: HttpRequest, survey_id: int) -> Survey:
    return selectors.survey_get_for(actor=request.user, survey_id=survey_id)


def _builder(request: HttpRequest, survey: Survey, *, errors: dict | None = None, status: int = 200,
             question_errors: dict | None = None, form: Any = None) -> HttpResponse:
    from cx.customers.models import Organization

    return render(request, "surveys/detail.html", {
        "survey": survey, "questions": list(survey.questions.select_related("show_if_question")),
        "kinds": SurveyKind.choices, "locales": Locale.choices, "triggers": Trigger.choices,
        "question_kinds": QuestionKind.choices, "errors": errors or {}, "question_errors": question_errors or {},
        "form": form or {}, "statuses": SurveyStatus, "organizations": Organization.objects.order_by("name")[:500],
        "can_admin": request.user.is_cx_admin,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def survey_detail(request: HttpRequest, survey_id: int) -> HttpResponse:
    try:
        survey = _survey(request, survey_id)
        if request.method == "GET":
            return _builder(request, survey)
        values: dict[str, Any] = {name: request.POST.get(name, "") for name in services.SURVEY_FIELDS
                                  if name not in ("kind", "event_first_only")}
        for name in INT_FIELDS:
            values[name] = _int_or_raw(values[name])
        values["event_first_only"] = request.POST.get("event_first_only") == "on"
        try:
            services.survey_update(actor=request.user, survey=survey, values=values)
        except ValidationFailed as error:
            survey.refresh_from_db()
            return _builder(request, survey, errors=error.fields, status=422, form=request.POST)
        messages.success(request, "Survey saved.")
        return redirect("surveys:detail", survey.pk)
    except DomainError as error:
        return _error(request, error)


@login_required
@require_POST
def survey_status(request: HttpRequest, survey_id: int) -> HttpResponse:
    try:
        survey = _survey(request, survey_id)
        services.survey_update(actor=request.user, survey=survey, values={"status": request.POST.get("status", "")})
    except ValidationFailed as error:
        return _builder(request, _survey(request, survey_id), errors=error.fields, status=422)
    except DomainError as error:
        return _error(request, error)
    messages.success(request, f"Survey is now {survey.get_status_display().lower()}.")
    return redirect("surveys:detail", survey.pk)


def _question_values(post: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: post.get(name, "") for name in ("kind", "text", "help_text", "low_label",
                                                                     "high_label")}
    values["options"] = post.get("options", "")
    values["required"] = post.get("required") == "on"
    values["scale_max"] = _int_or_raw(post.get("scale_max", "")) or None
    parent = post.get("show_if_question_id", "")
    values["show_if_question_id"] = int(parent) if parent.isdigit() else None
    values["show_if_min"] = _int_or_raw(post.get("show_if_min", ""))
    values["show_if_max"] = _int_or_raw(post.get("show_if_max", ""))
    return values


@login_required
@require_POST
def question_add(request: HttpRequest, survey_id: int) -> HttpResponse:
    try:
        survey = _survey(request, survey_id)
        try:
            services.question_add(actor=request.user, survey=survey, values=_question_values(request.POST))
        except ValidationFailed as error:
            return _builder(request, survey, question_errors={"new": error.fields}, status=422, form=request.POST)
    except DomainError as error:
        return _error(request, error)
    messages.success(request, "Question added.")
    return redirect(reverse("surveys:detail", args=[survey.pk]) + "#questions")


@login_required
@require_POST
def question_edit(request: HttpRequest, survey_id: int, question_id: int) -> HttpResponse:
    try:
        survey = _survey(request, survey_id)
        question = selectors.question_get_for(actor=request.user, survey=survey, question_id=question_id)
        action = request.POST.get("action", "save")
        if action == "delete":
            services.question_delete(actor=request.user, question=question)
            messages.success(request, "Question deleted.")
        elif action in ("up", "down"):
            services.question_move(actor=request.user, question=question, direction=action)
        else:
            values = _question_values(request.POST)
            values["kind"] = question.kind
            try:
                services.question_update(actor=request.user, question=question, values=values)
            except ValidationFailed as error:
                return _builder(request, survey, question_errors={question.pk: error.fields}, status=422)
            messages.success(request, "Question saved.")
    except DomainError as error:
        return _error(request, error)
    return redirect(reverse("surveys:detail", args=[survey.pk]) + f"#question-{question_id}")


@login_required
@require_GET
def survey_preview(request: HttpRequest, survey_id: int) -> HttpResponse:
    """The public page as a customer would see it, with every follow-up shown; nothing is recorded."""
    try:
        survey = _survey(request, survey_id)
    except DomainError as error:
        return _error(request, error)
    questions = list(survey.questions.all())
    return render(request, "surveys/public/survey.html", {
        "survey": survey, "words": strings(survey.locale), "questions": questions, "preview": True,
        "answered": {}, "errors": {}, "contrast_ok": _contrast_ok(survey.brand_color),
    })


@login_required
@require_POST
def survey_send(request: HttpRequest, survey_id: int) -> HttpResponse:
    try:
        survey = _survey(request, survey_id)
        org = request.POST.get("organization", "")
        days = request.POST.get("within_days", "")
        solved = request.POST.get("ticket_solved_days", "")
        errors = {}
        for name, value in (("within_days", days), ("ticket_solved_days", solved)):
            if value and (not value.isdigit() or not 1 <= int(value) <= 3650):
                errors[name] = "a number of days from 1 to 3650"
        if errors:
            raise ValidationFailed("The segment is invalid.", fields=errors)
        ids = selectors.segment_customer_ids(
            actor=request.user, organization_id=int(org) if org.isdigit() else None,
            language=request.POST.get("language", "").strip()[:16],
            touchpoint_kind=request.POST.get("touchpoint_kind", "").strip()[:100],
            within_days=int(days) if days else None, ticket_solved_days=int(solved) if solved else None)
        if not ids:
            raise ValidationFailed("No customer with an email address matches this segment.",
                                   fields={"segment": "no matching customer"})
        counts = services.survey_send_to_segment(actor=request.user, survey=survey, customer_ids=ids)
    except ValidationFailed as error:
        return _builder(request, _survey(request, survey_id), errors={"send": error.message, **error.fields},
                        status=422)
    except DomainError as error:
        return _error(request, error)
    messages.success(request, f"Survey queued for {counts['queued']} customers. Sampling, cooldown, monthly cap "
                              "and quiet hours apply to each invitation.")
    return redirect("surveys:detail", survey.pk)


# --- reports ----------------------------------------------------------------------------------------------

def _row_json(rows: list[selectors.ScoreRow]) -> list[dict[str, Any]]:
    return [{"key": r.key, "n": r.n, "value": r.value, "low": r.ci_low, "high": r.ci_high} for r in rows]


@login_required
@require_GET
def survey_dashboard(request: HttpRequest, survey_id: int) -> HttpResponse:
    granularity = request.GET.get("granularity", "week")
    if granularity not in ("day", "week", "month"):
        granularity = "week"
    try:
        survey = _survey(request, survey_id)
        filters = selectors.ResponseFilter.from_params(request.GET)
        report = selectors.survey_report(actor=request.user, survey=survey, filters=filters, granularity=granularity)
        themes = selectors.theme_summaries(actor=request.user, survey_id=survey.pk)
    except DomainError as error:
        return _error(request, error)
    chart = {"metric": report.metric, "trend": _row_json(report.trend),
             "distribution": [{"score": s, "count": c} for s, c in report.distribution],
             "themes": [{"label": t.theme.label, "n": t.n, "sentiment": t.mean_sentiment} for t in themes]}
    return render(request, "surveys/dashboard.html", {
        "survey": survey, "report": report, "themes": themes, "chart_json": chart, "granularity": granularity,
        "filters": filters, "query": filters.as_params(),
    })


def _response_filters_context(request: HttpRequest) -> dict[str, Any]:
    from cx.accounts.models import Team, User

    return {"surveys": Survey.objects.order_by("name"), "sentiments": Sentiment.choices,
            "loop_states": LoopState.choices, "themes": Theme.objects.all(),
            "agents": User.objects.filter(is_active=True, is_system=False).order_by("username"),
            "teams": Team.objects.order_by("name")}


@login_required
@require_GET
def response_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.ResponseFilter.from_params(request.GET)
    page_raw = request.GET.get("page", "1")
    page = int(page_raw) if page_raw.isdigit() and 0 < int(page_raw) < 100_000 else 1
    try:
        qs = selectors.responses_filtered(actor=request.user, filters=filters)
    except ValidationFailed as error:
        context = _response_filters_context(request) | {"rows": [], "errors": error.fields, "filters": filters,
                                                         "query": {}, "columns": selectors.CSV_COLUMNS}
        return render(request, "surveys/responses.html", context, status=422)
    except DomainError as error:
        return _error(request, error)
    start = (page - 1) * selectors.PAGE_SIZE
    rows = [selectors.response_row(r) for r in qs[start:start + selectors.PAGE_SIZE + 1]]
    query = filters.as_params()
    return render(request, "surveys/responses.html", _response_filters_context(request) | {
        "rows": rows[:selectors.PAGE_SIZE], "has_next": len(rows) > selectors.PAGE_SIZE, "page": page,
        "filters": filters, "query": query, "query_string": "&".join(f"{k}={v}" for k, v in query.items()),
        "columns": selectors.CSV_COLUMNS, "errors": {},
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def response_csv(request: HttpRequest) -> HttpResponse:
    """The response list as CSV: the same filters, columns and order as the screen (every page)."""
    filters = selectors.ResponseFilter.from_params(request.GET)
    try:
        qs = selectors.responses_filtered(actor=request.user, filters=filters)
    except DomainError as error:
        return _error(request, error)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(selectors.CSV_COLUMNS)
        for response in qs.iterator(chunk_size=500):
            row = selectors.response_row(response)
            # Cells starting with = + - @ are read as formulas by spreadsheets: neutralise them.
            yield writer.writerow([("'" + str(row[c])) if str(row[c])[:1] in "=+-@" and c == "comment"
                                   else row[c] for c in selectors.CSV_COLUMNS])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="survey-responses.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def follow_up_list(request: HttpRequest) -> HttpResponse:
    try:
        if request.method == "POST":
            follow_up = selectors.follow_up_get_for(actor=request.user,
                                                    follow_up_id=_int_or_raw(request.POST.get("follow_up", "0")) or 0)
            services.follow_up_set_state(actor=request.user, follow_up=follow_up, state=request.POST.get("state", ""),
                                         note=request.POST.get("note", ""))
            messages.success(request, "Follow-up updated.")
            return redirect(reverse("surveys:follow_ups") + (f"?state={request.GET['state']}"
                                                             if request.GET.get("state") else ""))
        state = request.GET.get("state", "")
        rows = list(selectors.follow_ups(actor=request.user, state=state)[:200])
    except DomainError as error:
        return _error(request, error)
    return render(request, "surveys/follow_ups.html", {"rows": rows, "state": state, "counts": selectors.loop_counts(),
                                                       "states": LoopState.choices})


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    policy = services.policy_get()
    if request.method == "POST":
        values: dict[str, Any] = {}
        for name in ("cooldown_days", "monthly_cap", "loop_nps_max", "loop_csat_max", "loop_ces_max",
                     "loop_due_hours"):
            values[name] = _int_or_raw(request.POST.get(name, ""))
        for name in ("quiet_start", "quiet_end"):
            try:
                values[name] = time.fromisoformat(request.POST.get(name, ""))
            except ValueError:
                errors[name] = "a time like 21:00"
        values["default_time_zone"] = request.POST.get("default_time_zone", "").strip()
        values["loop_priority"] = request.POST.get("loop_priority", "")
        values["loop_negative_comment"] = request.POST.get("loop_negative_comment") == "on"
        if not errors:
            try:
                services.policy_update(actor=request.user, values=values)
            except ValidationFailed as error:
                errors = error.fields
            except DomainError as error:
                return _error(request, error)
            else:
                messages.success(request, "Delivery policy saved.")
                return redirect("surveys:policy")
        policy = DeliveryPolicy(**{**{f.name: getattr(policy, f.name) for f in DeliveryPolicy._meta.fields},
                                   **{k: v for k, v in values.items() if k not in errors}})
    return render(request, "surveys/policy.html", {"policy": policy, "errors": errors, "priorities": Priority.choices,
                                                   "can_admin": request.user.is_cx_admin},
                  status=422 if errors else 200)


@login_required
@require_POST
def themes_rebuild(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Regroup the comments into themes now (the periodic job does it every few hours)."""
    from django.utils import timezone

    from cx.accounts.models import AccessLevel
    from cx.accounts.services import require_access
    from cx.surveys.text.themes import themes_rebuild as rebuild

    try:
        survey = _survey(request, survey_id)
        require_access(request.user, AccessLevel.ADMIN)
    except DomainError as error:
        return _error(request, error)
    themes = rebuild(now=timezone.now())
    messages.success(request, f"{len(themes)} themes found." if themes else
                     "Not enough comments yet (at least 6) to find themes.")
    return redirect(reverse("surveys:dashboard", args=[survey.pk]) + "#themes-heading")


@login_required
@require_GET
def ticket_satisfaction(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The sidebar card on the ticket page: the score the customer gave this ticket (when it exists)."""
    try:
        responses = selectors.ticket_satisfaction(actor=request.user, ticket_id=ticket_id)
    except DomainError as error:
        return _error(request, error)
    pending = Invitation.objects.filter(ticket_id=ticket_id, response__isnull=True).order_by("-created_at").first()
    return render(request, "surveys/partials/ticket_satisfaction.html",
                  {"responses": responses, "pending": pending})


# --- public pages -----------------------------------------------------------------------------------------

def _public_context(invitation: Invitation, errors: dict | None = None) -> dict[str, Any]:
    payload = services.invitation_public_payload(invitation)
    survey = invitation.survey
    remaining = set(payload["remaining_question_ids"])
    answered = {a["question_id"]: a for a in payload["answered"]}
    return {"survey": survey, "words": payload["strings"], "complete": payload["complete"],
            "questions": [q for q in survey.questions.all() if q.pk in remaining],
            "answered_questions": [(q, answered[q.pk]) for q in survey.questions.all() if q.pk in answered],
            "answered": answered, "errors": errors or {}, "contrast_ok": _contrast_ok(survey.brand_color),
            "preview": False}


def _public_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    status = 410 if error.code == "already_answered" else error.status
    return render(request, "surveys/public/message.html", {"error": error, "words": strings("en")}, status=status)


@never_cache
@csrf_exempt  # the token is the credential; there is no session to ride on
@require_http_methods(["GET", "POST"])
def public_survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_from_token(token)
    except DomainError as error:
        return _public_error(request, error)
    if invitation.answered_at is not None:
        words = strings(invitation.survey.locale)
        status = 410 if request.method == "POST" else 200
        context = {"survey": invitation.survey, "words": words, "already": request.method == "POST",
                   "contrast_ok": _contrast_ok(invitation.survey.brand_color)}
        return render(request, "surveys/public/thanks.html", context, status=status)
    if request.method == "GET":
        services.invitation_open(invitation=invitation)
        return render(request, "surveys/public/survey.html", _public_context(invitation))
    context = _public_context(invitation)
    if request.POST.get("skip_survey"):
        answers: list[dict[str, Any]] = []
    else:
        answers = []
        for question in context["questions"]:
            key = f"q{question.pk}"
            if request.POST.get(f"{key}_skip"):
                answers.append({"question_id": question.pk, "skipped": True})
            elif question.kind == QuestionKind.MULTIPLE_CHOICE:
                chosen = request.POST.getlist(key)
                answers.append({"question_id": question.pk, "choices": chosen} if chosen
                               else {"question_id": question.pk, "skipped": True})
            elif question.kind == QuestionKind.SINGLE_CHOICE:
                chosen = request.POST.get(key, "")
                answers.append({"question_id": question.pk, "choices": [chosen]} if chosen
                               else {"question_id": question.pk, "skipped": True})
            elif question.is_scored:
                raw = request.POST.get(key, "")
                if raw == "" and not question.required:
                    answers.append({"question_id": question.pk, "skipped": True})
                elif raw != "":
                    answers.append({"question_id": question.pk, "score": raw})
            else:
                answers.append({"question_id": question.pk, "text": request.POST.get(key, "")})
    try:
        services.response_submit(invitation=invitation, answers=answers, complete=True)
    except ValidationFailed as error:
        fields = {}
        for name, reason in error.fields.items():
            index = name.split("]")[0].removeprefix("answers[")
            if index.isdigit() and int(index) < len(answers):
                fields[answers[int(index)]["question_id"]] = reason
            else:
                fields[name] = reason
        return render(request, "surveys/public/survey.html",
                      _public_context(invitation, errors={"message": error.message, "fields": fields}), status=422)
    except DomainError as error:
        return _public_error(request, error)
    return redirect("surveys:public", token)


@never_cache
@require_GET
def public_score(request: HttpRequest, token: str, score: int) -> HttpResponse:
    """One click on a score in the email records it, then the page asks for the comment and the rest."""
    try:
        invitation = services.invitation_from_token(token)
        if invitation.answered_at is not None:
            raise services.Conflict("This survey has already been answered. Thank you!", code="already_answered")
        headline = invitation.survey.questions.first()
        if headline is None or not headline.is_scored:
            raise ValidationFailed("This survey does not start with a score.", fields={"score": "not expected"})
        services.invitation_open(invitation=invitation)
        payload = services.invitation_public_payload(invitation)
        if not any(a["question_id"] == headline.pk for a in payload["answered"]):
            services.response_submit(invitation=invitation, answers=[{"question_id": headline.pk, "score": score}])
    except DomainError as error:
        return _public_error(request, error)
    return redirect("surveys:public", token)


def public_json_script(value: Any) -> str:
    return json.dumps(value)


# --- in-app placement (admins) ----------------------------------------------------------------------------

_FILTER = re.compile(r"^\s*([^\s=!<>]+)\s*(!=|=|>|<|contains\b|exists\b)\s*(.*?)\s*$")
_OPERATOR_NAMES = {"=": "equals", "!=": "not_equals", ">": "greater_than", "<": "less_than", "contains": "contains",
                   "exists": "exists"}
_OPERATOR_SIGNS = {name: sign for sign, name in _OPERATOR_NAMES.items()}
BLANK_PAGE_ROWS = 3
BLANK_EVENT_ROWS = 2


def _filters_from_text(text: str, index: int) -> list[dict[str, Any]]:
    """``plan = pro; total > 100; coupon exists`` → property filters (the form's short notation)."""
    filters = []
    for position, part in enumerate(p for p in text.split(";") if p.strip()):
        found = _FILTER.match(part)
        if found is None or (found.group(2) != "exists" and not found.group(3)):
            raise in_app.TargetingInvalid("The in-app placement is invalid.", fields={
                f"event_rules[{index}].filters[{position}]": "property, operator (=, !=, >, <, contains, exists) "
                                                            "and value, e.g. plan = pro"})
        value: Any = found.group(3)
        if value in ("true", "false"):
            value = value == "true"
        filters.append({"property": found.group(1), "operator": _OPERATOR_NAMES[found.group(2)],
                        "value": None if found.group(2) == "exists" else value})
    return filters


def _filters_as_text(filters: list[dict[str, Any]]) -> str:
    parts = []
    for item in filters:
        value = item["value"]
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        sign = _OPERATOR_SIGNS[item["operator"]]
        parts.append(f"{item['property']} exists" if sign == "exists" else f"{item['property']} {sign} {value}")
    return "; ".join(parts)


def _placement_values(post: Any) -> dict[str, Any]:
    page_rules = []
    for index in range(int(post.get("page_rows", "0") or 0) if post.get("page_rows", "").isdigit() else 0):
        value = post.get(f"page_value_{index}", "").strip()
        if value:
            page_rules.append({"action": post.get(f"page_action_{index}", ""),
                               "match": post.get(f"page_match_{index}", ""), "value": value})
    event_rules = []
    for index in range(int(post.get("event_rows", "0") or 0) if post.get("event_rows", "").isdigit() else 0):
        name = post.get(f"event_name_{index}", "").strip()
        if name:
            event_rules.append({"event": name, "filters": _filters_from_text(post.get(f"event_filters_{index}", ""),
                                                                             len(event_rules))})
    inbox = post.get("inbox_id", "")
    return {"inbox_id": int(inbox) if inbox.isdigit() else None, "is_enabled": post.get("is_enabled") == "on",
            "page_rules": page_rules, "event_rules": event_rules,
            **{name: _int_or_raw(post.get(name, "")) for name in ("delay_seconds", "scroll_percent",
                                                                   "recurrence_days", "sampling_percent")},
            "position": post.get("position", ""), "recurrence": post.get("recurrence", "")}


def _error_label(field: str) -> str:
    """``page_rules[0].match`` → ``Page rule 1, match`` (the form's words for the API's field names)."""
    found = re.match(r"^(page_rules|event_rules)\[(\d+)\](.*)$", field)
    if not found:
        return field.replace("_", " ").capitalize()
    kind = "Page rule" if found.group(1) == "page_rules" else "Event rule"
    rest = found.group(3).lstrip(".").replace("filters[", "filter ").replace("]", "").replace(".", ", ")
    rest = re.sub(r"filter (\d+)", lambda m: f"filter {int(m.group(1)) + 1}", rest)
    return f"{kind} {int(found.group(2)) + 1}" + (f", {rest}" if rest else "")


@login_required
@require_http_methods(["GET", "POST"])
def survey_in_app(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Show the survey on a website through the chat widget: inbox, pages, events, timing, recurrence."""
    from cx.chat.models import ChatInbox

    try:
        survey = _survey(request, survey_id)
        placement = in_app.placement_for(survey)
        errors: dict[str, str] = {}
        values: dict[str, Any] | None = None
        if request.method == "POST":
            if request.POST.get("action") == "delete":
                in_app.in_app_placement_delete(actor=request.user, survey=survey)
                messages.success(request, "The survey is no longer shown in-app.")
                return redirect("surveys:in_app", survey.pk)
            try:
                values = _placement_values(request.POST)
                in_app.in_app_placement_save(actor=request.user, survey=survey, values=values)
            except ValidationFailed as error:
                errors = {_error_label(name): reason for name, reason in error.fields.items()}
            else:
                messages.success(request, "In-app placement saved.")
                return redirect("surveys:in_app", survey.pk)
    except DomainError as error:
        return _error(request, error)
    current = values or (in_app.placement_as_dict(placement) if placement else dict(in_app.DEFAULTS))
    if values is None and placement is None:
        current["page_rules"] = [{"action": "include", "match": "wildcard", "value": "*"}]
    page_rows = list(current["page_rules"]) + [{"action": "include", "match": "exact", "value": ""}] * BLANK_PAGE_ROWS
    event_rows = [{"event": r["event"], "filters": _filters_as_text(r["filters"])} for r in current["event_rules"]] + \
        [{"event": "", "filters": ""}] * BLANK_EVENT_ROWS
    test_url = request.GET.get("test_url", "").strip()[:2000]
    test_result = None
    if test_url and placement is not None:
        test_result = targeting.page_matches(placement.page_rules, test_url)
    inboxes = list(ChatInbox.objects.filter(is_active=True).order_by("name"))
    return render(request, "surveys/in_app.html", {
        "survey": survey, "placement": placement, "current": current, "errors": errors,
        "page_rows": page_rows, "event_rows": event_rows, "inboxes": inboxes,
        "positions": InAppPosition.choices, "recurrences": InAppRecurrence.choices,
        "actions": targeting.PAGE_ACTIONS, "matches": targeting.PAGE_MATCHES, "test_url": test_url,
        "test_result": test_result, "can_admin": request.user.is_cx_admin,
        "inbox": next((i for i in inboxes if i.pk == current.get("inbox_id")), None),
        "widget_url": request.build_absolute_uri(reverse("chat:widget_js")),
    }, status=400 if errors else 200)


IN_APP_JS = Path(__file__).resolve().parent / "static" / "surveys" / "in_app.js"


@lru_cache(maxsize=1)
def _in_app_source() -> bytes:
    return IN_APP_JS.read_bytes()


@gzip_page
@require_GET
def in_app_js(request: HttpRequest) -> HttpResponse:
    """The in-app survey script the chat widget loads on host websites when a visitor has surveys to see."""
    response = HttpResponse(_in_app_source(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response
