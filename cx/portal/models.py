"""The customer portal: passwordless sign-in links and which organisations share tickets among members."""

from __future__ import annotations

from django.db import models


class MagicLink(models.Model):
    """A single-use, expiring sign-in link. Only a hash of the token is stored; the token itself is derived
    from the row's ``salt`` and the server's SECRET_KEY when the email is written (see services)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=255)
    salt = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_path = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"sign-in link #{self.pk} for customer {self.customer_id}"


class OrganizationPortalAccess(models.Model):
    """An admin lets members of an organisation see all of the organisation's tickets in the portal."""

    organization = models.OneToOneField("customers.Organization", on_delete=models.CASCADE,
                                        related_name="portal_access")
    members_see_all_tickets = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organisation portal access"
        verbose_name_plural = "organisation portal access"

    def __str__(self) -> str:
        return f"{self.organization}: {'shared' if self.members_see_all_tickets else 'own tickets only'}"
