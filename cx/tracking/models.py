"""Tracking sources (write keys) and tracked people (profiles) with the ids they are known by."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SourceKind(models.TextChoices):
    WEBSITE = "website", "Website (analytics.js, chat widget)"
    MOBILE = "mobile", "Mobile app"
    SERVER = "server", "Server (Python, Node, ... SDK)"
    OTHER = "other", "Other / HTTP API"


class Source(models.Model):
    """Where events come from; each has its own write key. Only a hash of the key is stored."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.WEBSITE)
    channel = models.CharField(max_length=32, default="web")  # timeline channel of its unmapped events
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=12)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Profile(models.Model):
    """One tracked person. Anonymous profiles merge into identified ones; identified profiles never merge
    automatically. ``customer`` links the person to the helpdesk customer (by user id, email or phone)."""

    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    user_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    traits = models.JSONField(default=dict, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["customer"], name="profile_customer_idx")]

    def __str__(self) -> str:
        return self.user_id or f"anonymous profile {self.pk}"

    @property
    def is_identified(self) -> bool:
        return bool(self.user_id) or self.customer_id is not None


class ProfileAlias(models.Model):
    """An id a profile is known by: an anonymousId, a userId or a previousId from alias()."""

    distinct_id = models.CharField(max_length=255, unique=True)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.distinct_id


class StoreChange(models.Model):
    """A change the analytics store must apply to events already loaded (a person merge or an erasure).

    Written in the same transaction as the profile change; the loader applies it, then marks it applied."""

    class Kind(models.TextChoices):
        MERGE = "merge", "Merge person"
        ERASE = "erase", "Erase person"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    profile_id = models.BigIntegerField()
    into_profile_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["applied_at", "id"], name="storechange_pending_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.profile_id} -> {self.into_profile_id}"
