"""Admin forms for mailboxes and routing rules; the services validate again (and the API uses them alone)."""

from __future__ import annotations

from django import forms

from cx.accounts.models import Team
from cx.tickets.models import Priority


class MailboxForm(forms.Form):
    address = forms.EmailField(max_length=254)
    brand_name = forms.CharField(max_length=100, help_text="Sender name of replies, e.g. “Acme Support”.")
    team_id = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    signature = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    max_message_bytes = forms.IntegerField(label="Largest message (bytes)", initial=25 * 1024 * 1024)
    max_attachment_bytes = forms.IntegerField(label="Largest attachment (bytes)", initial=20 * 1024 * 1024)
    max_attachments = forms.IntegerField(label="Most attachments per message", initial=10)
    sender_rate_limit = forms.IntegerField(label="Most messages per sender per hour", initial=20)
    auto_ack_enabled = forms.BooleanField(required=False, label="Send an automatic acknowledgement")
    auto_ack_body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                    label="Acknowledgement text",
                                    help_text="Placeholders: {{ticket.id}}, {{ticket.subject}}, {{customer.name}}.")
    imap_enabled = forms.BooleanField(required=False, label="Fetch mail over IMAP")
    imap_host = forms.CharField(required=False, max_length=255, label="IMAP host")
    imap_port = forms.IntegerField(required=False, initial=993, label="IMAP port")
    imap_ssl = forms.BooleanField(required=False, initial=True, label="IMAPS (TLS)")
    imap_username = forms.CharField(required=False, max_length=255, label="IMAP username")
    imap_password = forms.CharField(required=False, max_length=255, label="IMAP password",
                                    widget=forms.PasswordInput(render_value=False),
                                    help_text="Leave empty to keep the stored password.")
    imap_folder = forms.CharField(required=False, max_length=100, initial="INBOX", label="IMAP folder")
    imap_processed_folder = forms.CharField(required=False, max_length=100, label="Move processed mail to",
                                            help_text="Empty: leave it in place, marked as seen.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team_id"].choices = [("", "— none —"), *[(t.pk, t.name) for t in Team.objects.order_by("name")]]

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["imap_port"] = data.get("imap_port") or 993
        data["imap_folder"] = data.get("imap_folder") or "INBOX"
        return data


class RoutingRuleForm(forms.Form):
    sender_domain = forms.CharField(required=False, max_length=253, help_text="e.g. bigcustomer.com")
    keywords = forms.CharField(required=False, max_length=500, help_text="Comma-separated; any one in subject or body.")
    team_id = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    priority = forms.ChoiceField(required=False, choices=[("", "— unchanged —"), *Priority.choices])
    tags = forms.CharField(required=False, max_length=500, help_text="Comma-separated.")
    position = forms.IntegerField(initial=0, min_value=0)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team_id"].choices = [("", "— none —"), *[(t.pk, t.name) for t in Team.objects.order_by("name")]]
