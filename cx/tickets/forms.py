"""HTML forms of the agent workspace. They parse and render input; the rules live in the services, whose
errors are put back onto the forms with ``apply_service_errors``."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from cx.accounts.models import Team, User
from cx.core.errors import DomainError
from cx.tickets.models import (
    Channel,
    CustomField,
    CustomFieldType,
    Priority,
    StatusCategory,
    Ticket,
    TicketStatus,
    TicketType,
    Visibility,
)
from cx.tickets.selectors import QUEUES, SORTS
from cx.tickets.workspace_services import ANY_QUEUE, BULK_ACTIONS

SORT_LABELS = {"updated": "Recently updated", "created": "Newest", "oldest": "Oldest"}
CUSTOM_PREFIX = "cf_"


def _blank(label: str = "Any") -> list[tuple[str, str]]:
    return [("", label)]


def apply_service_errors(form: forms.Form, error: DomainError, *, field_map: dict[str, str] | None = None) -> None:
    """Show a service error on the form: the message on top, each known field's reason next to the field."""
    field_map = field_map or {}
    form.add_error(None, error.message)
    for name, reason in error.fields.items():
        target = field_map.get(name, name)
        if name.startswith("custom_fields."):
            target = CUSTOM_PREFIX + name.split(".", 1)[1]
        if target in form.fields:
            form.add_error(target, reason)
        else:
            form.add_error(None, f"{name}: {reason}")


def _attributes(attrs: dict[str, Any]) -> str:
    """HTML attributes in order, as Django's attrs.html writes them (True: bare name; False/None: left out)."""
    return mark_safe("".join(  # noqa: S308 - each attribute is escaped by format_html
        format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
        for name, value in attrs.items() if value is not False and value is not None
    ))


def _escape(value: Any) -> str:
    """``conditional_escape`` without its lazy-string wrapper: a select writes one per option."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


class QuickSelect(forms.Select):
    """Django's <select> markup built in Python. The stock widget renders one template per option; the inbox
    and the ticket page show selects with an option per agent and team, which made those renders a good part
    of each page's cost. Same markup (name, attributes, selected, optgroups); every value is escaped."""

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> str:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html("<select name=\"{}\"{}>", widget["name"], _attributes(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html("<optgroup label=\"{}\">", group_name))
            for option in options:
                option_attrs = option["attrs"]
                if not option_attrs:
                    extra = ""
                elif option_attrs == {"selected": True}:
                    extra = " selected"
                else:
                    extra = _attributes(option_attrs)
                parts.append(f'<option value="{_escape(option["value"])}"{extra}>{_escape(option["label"])}</option>')
            if group_name:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("\n".join(parts))  # noqa: S308 - every part above is escaped


class WorkspaceForm(forms.Form):
    """A form whose plain selects render with QuickSelect."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.use_quick_selects()

    def use_quick_selects(self) -> None:
        for field in self.fields.values():
            if type(field.widget) is forms.Select:
                field.widget.__class__ = QuickSelect


class InboxFilterForm(WorkspaceForm):
    """Renders the inbox filters (values are checked by ``inbox_filters_clean``)."""

    queue = forms.ChoiceField(label="Queue", required=False,
                              choices=[*QUEUES.items(), (ANY_QUEUE, "Any ticket")])
    status_category = forms.ChoiceField(label="Status", required=False,
                                        choices=_blank() + list(StatusCategory.choices))
    priority = forms.ChoiceField(label="Priority", required=False, choices=_blank() + list(Priority.choices))
    assignee = forms.ChoiceField(label="Assignee", required=False)
    team = forms.ChoiceField(label="Team", required=False)
    tag = forms.CharField(label="Tag", required=False, max_length=50)
    channel = forms.ChoiceField(label="Channel", required=False, choices=_blank() + list(Channel.choices))
    sort = forms.ChoiceField(label="Sort", required=False, choices=[(k, SORT_LABELS[k]) for k in SORTS])

    def __init__(self, *args: Any, agents: Iterable[User] = (), teams: Iterable[Team] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Anyone"), ("me", "Me"), ("none", "Unassigned"),
                                           *((str(a.pk), a.display_name) for a in agents)]
        self.fields["team"].choices = [("", "Any team"), ("none", "No team"), *((str(t.pk), t.name) for t in teams)]


class SavedViewForm(forms.Form):
    name = forms.CharField(label="View name", max_length=80)
    is_shared = forms.BooleanField(label="Share with all agents", required=False)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the services check count and size)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class ReplyForm(WorkspaceForm):
    """The composer: a public reply or an internal note, optionally changing the status at once."""

    visibility = forms.ChoiceField(label="Type", choices=Visibility.choices, initial=Visibility.PUBLIC,
                                   widget=forms.RadioSelect)
    body = forms.CharField(label="Message", strip=False,
                           widget=forms.Textarea(attrs={"rows": 6, "data-composer": "body"}))
    submit_as = forms.TypedChoiceField(label="Submit as", required=False, coerce=int, empty_value=None)
    attachments = MultipleFileField(label="Attachments", required=False)

    def __init__(self, *args: Any, statuses: Iterable[TicketStatus] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["submit_as"].choices = [("", "Keep the current status"),
                                            *((s.pk, f"Submit as {s.name}") for s in statuses)]


def _custom_field(definition: CustomField) -> forms.Field:
    label = definition.label
    help_text = "Required to solve." if definition.required_on_solve else ""
    common = {"label": label, "required": False, "help_text": help_text}
    if definition.field_type == CustomFieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if definition.field_type == CustomFieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if definition.field_type == CustomFieldType.DROPDOWN:
        return forms.ChoiceField(choices=[("", "—"), *((o, o) for o in definition.options)], **common)
    if definition.field_type == CustomFieldType.CHECKBOX:
        return forms.BooleanField(**common)
    return forms.CharField(max_length=2000, **common)


class PropertiesForm(WorkspaceForm):
    """The properties panel. Every field carries its value at render time in a hidden input
    (``show_hidden_initial``), and ``changes()`` sends only the fields the agent actually changed, in
    ``ticket_update``'s shape: a panel that went stale while a colleague changed the assignee never puts the
    old assignee back when this agent only edits the priority."""

    status = forms.TypedChoiceField(label="Status", coerce=int)
    priority = forms.ChoiceField(label="Priority", choices=Priority.choices)
    ticket_type = forms.ChoiceField(label="Type", choices=TicketType.choices)
    assignee = forms.TypedChoiceField(label="Assignee", required=False, coerce=int, empty_value=None)
    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    tags = forms.CharField(label="Tags", required=False, max_length=2000, help_text="Separate tags with commas.")
    due_at = forms.DateTimeField(
        label="Due", required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    field_map = {"status_id": "status", "assignee_id": "assignee", "team_id": "team"}
    _service_names = {"status": "status_id", "assignee": "assignee_id", "team": "team_id"}

    def __init__(self, *args: Any, ticket: Ticket, statuses: Iterable[TicketStatus], agents: Iterable[User],
                 teams: Iterable[Team], custom_fields: Iterable[CustomField], **kwargs: Any):
        self.ticket = ticket
        self.custom_fields = list(custom_fields)
        kwargs.setdefault("initial", self._initial(ticket))
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(s.pk, s.name) for s in statuses]
        self.fields["assignee"].choices = [("", "Unassigned"), *((a.pk, a.display_name) for a in agents)]
        self.fields["team"].choices = [("", "No team"), *((t.pk, t.name) for t in teams)]
        for definition in self.custom_fields:
            self.fields[CUSTOM_PREFIX + definition.key] = _custom_field(definition)
        for field in self.fields.values():
            field.show_hidden_initial = True
        self.use_quick_selects()

    def _initial(self, ticket: Ticket) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "status": ticket.status_id, "priority": ticket.priority, "ticket_type": ticket.ticket_type,
            "assignee": ticket.assignee_id, "team": ticket.team_id, "due_at": ticket.due_at,
            "tags": ", ".join(t.name for t in ticket.tags.all()),
        }
        for definition in self.custom_fields:
            initial[CUSTOM_PREFIX + definition.key] = ticket.custom_fields.get(definition.key)
        return initial

    @property
    def custom_bound_fields(self) -> list[forms.BoundField]:
        return [self[CUSTOM_PREFIX + d.key] for d in self.custom_fields]

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        changed = set(self.changed_data)
        changes: dict[str, Any] = {}
        for name in ("status", "priority", "ticket_type", "assignee", "team", "due_at"):
            if name in changed:
                changes[self._service_names.get(name, name)] = data[name]
        if "tags" in changed:
            changes["tags"] = [t.strip() for t in data["tags"].split(",") if t.strip()]
        custom: dict[str, Any] = {}
        for definition in self.custom_fields:
            name = CUSTOM_PREFIX + definition.key
            if name in changed:
                value = data.get(name)
                custom[definition.key] = bool(value) if definition.field_type == CustomFieldType.CHECKBOX \
                    else (value or None)
        if custom:
            changes["custom_fields"] = custom
        return changes


class MergeForm(forms.Form):
    target_id = forms.IntegerField(label="Ticket to merge this one into", min_value=1)


class BulkForm(WorkspaceForm):
    """The bulk bar above the inbox table: one input per action, the pressed button names the action."""

    action = forms.ChoiceField(label="Bulk action", choices=list(BULK_ACTIONS.items()))
    assignee = forms.ChoiceField(label="Agent", required=False)
    team = forms.ChoiceField(label="Team", required=False)
    status = forms.ChoiceField(label="Status", required=False)
    priority = forms.ChoiceField(label="Priority", required=False, choices=_blank("Choose…") + list(Priority.choices))
    tag = forms.CharField(label="Tag", required=False, max_length=50)
    value_fields = {"assign_agent": "assignee", "assign_team": "team", "set_status": "status",
                    "set_priority": "priority", "add_tag": "tag"}

    def __init__(self, *args: Any, agents: Iterable[User] = (), teams: Iterable[Team] = (),
                 statuses: Iterable[TicketStatus] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose…"), ("me", "Me"), ("none", "Unassigned"),
                                           *((str(a.pk), a.display_name) for a in agents)]
        self.fields["team"].choices = [("", "Choose…"), ("none", "No team"), *((str(t.pk), t.name) for t in teams)]
        self.fields["status"].choices = [("", "Choose…"), *((str(s.pk), s.name) for s in statuses)]

    def action_value(self) -> str:
        return self.cleaned_data.get(self.value_fields[self.cleaned_data["action"]]) or ""


class CannedReplyForm(forms.Form):
    title = forms.CharField(label="Title", max_length=100)
    body = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 6}))
    is_shared = forms.BooleanField(label="Share with all agents", required=False, initial=True)


class SearchForm(WorkspaceForm):
    q = forms.CharField(label="Search tickets", required=False, max_length=200)
    status_category = forms.ChoiceField(label="Status", required=False, choices=_blank() + list(StatusCategory.choices))
    channel = forms.ChoiceField(label="Channel", required=False, choices=_blank() + list(Channel.choices))
    created_from = forms.DateField(label="Created from", required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Created until", required=False, widget=forms.DateInput(attrs={"type": "date"}))
