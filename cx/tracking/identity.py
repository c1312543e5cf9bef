"""Identity resolution: which person (profile) an event belongs to.

Rules (PostHog's): an anonymous id merges into a known person on identify/alias (or an event carrying both
ids); two identified people are never merged automatically — the refusal is audited and an admin merges the
helpdesk customers if they really are one person. Emails and phones in traits link the person to the helpdesk
customer with that identity (created when there is none), so the person who buys on the website and the one
who emails support are the same customer. Merges of loaded events reach the analytics store as StoreChange rows.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cx.core.audit import audit_record
from cx.customers.identities import InvalidIdentity, normalize_identity
from cx.customers.models import Customer, IdentityKind
from cx.customers.selectors import customer_find_by_identity
from cx.customers.services import customer_create
from cx.tracking.models import Profile, ProfileAlias, StoreChange


def _insert_profiles(user_ids: list[str | None]) -> list[int]:
    """Many new profiles in a few multi-row INSERT ... RETURNING statements (the ORM's bulk_create costs
    ~200 us per object, too slow for a loader that meets tens of thousands of new visitors a second)."""
    ids: list[int] = []
    table = Profile._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        for start in range(0, len(user_ids), 500):
            chunk = user_ids[start:start + 500]
            values = ", ".join(["(%s, '{}', %s, %s)"] * len(chunk))
            params: list = []
            for user_id in chunk:
                params.extend([user_id, now, now])
            cursor.execute(f"INSERT INTO {table} (user_id, traits, created_at, updated_at) VALUES {values} "  # noqa: S608
                           "RETURNING id", params)
            ids.extend(row[0] for row in cursor.fetchall())
    return ids


def _insert_aliases(rows: list[tuple[str, int]]) -> None:
    table = ProfileAlias._meta.db_table
    now = timezone.now()
    conflict = "ON CONFLICT (distinct_id) DO NOTHING"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            params: list = []
            for distinct_id, profile_id in chunk:
                params.extend([distinct_id, profile_id, now])
            cursor.execute(f"INSERT INTO {table} (distinct_id, profile_id, created_at) VALUES {values} "  # noqa: S608
                           f"{conflict}", params)


class Resolver:
    """Resolves the distinct ids of one loader batch with a handful of queries (bulk creates)."""

    def __init__(self) -> None:
        self.alias: dict[str, int] = {}  # distinct id -> profile id
        self.merged: dict[int, int] = {}  # merged profile -> survivor
        self.customer_of: dict[int, int | None] = {}
        self.merges: list[tuple[int, int]] = []
        self.touched: set[int] = set()  # people who merged or got linked to a customer in this batch

    def final(self, profile_id: int) -> int:
        seen = 0
        while profile_id in self.merged and seen < 100:
            profile_id = self.merged[profile_id]
            seen += 1
        return profile_id

    def person(self, distinct_id: str) -> int:
        return self.final(self.alias[distinct_id])

    def prepare(self, messages: list[dict[str, Any]]) -> None:
        """Create profiles (one bulk insert) for every id in the batch that is not known yet."""
        user_ids: set[str] = set()
        anonymous: set[str] = set()
        for m in messages:
            if m.get("userId"):
                user_ids.add(m["userId"])
            if m.get("anonymousId"):
                anonymous.add(m["anonymousId"])
            if m.get("type") == "alias" and m.get("previousId"):
                anonymous.add(m["previousId"])
        wanted = list(user_ids | anonymous)
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start:start + 5000]
            for distinct_id, profile_id in ProfileAlias.objects.filter(distinct_id__in=chunk).values_list(
                    "distinct_id", "profile_id"):
                self.alias[distinct_id] = profile_id
        # A user id may own a profile (e.g. merged in by an admin) without an alias row yet.
        missing_users = [u for u in user_ids if u not in self.alias]
        found_users = dict(Profile.objects.filter(user_id__in=missing_users).values_list("user_id", "pk")) \
            if missing_users else {}
        self.alias.update(found_users)
        new_users = [u for u in user_ids if u not in self.alias]
        new_anonymous = [a for a in anonymous if a not in self.alias and a not in user_ids]
        known_profiles = set(self.alias.values())
        created = _insert_profiles([*new_users, *([None] * len(new_anonymous))])
        for distinct_id, profile_id in zip([*new_users, *new_anonymous], created, strict=True):
            self.alias[distinct_id] = profile_id
            self.customer_of[profile_id] = None  # new people are not linked to a customer yet
        _insert_aliases([(d, self.alias[d]) for d in [*found_users, *new_users, *new_anonymous]])
        wanted_profiles = list(known_profiles)
        for start in range(0, len(wanted_profiles), 5000):
            chunk = wanted_profiles[start:start + 5000]
            for pk, into, customer_id in Profile.objects.filter(pk__in=chunk).values_list(
                    "pk", "merged_into_id", "customer_id"):
                if into is not None:
                    self.merged[pk] = into
                self.customer_of[pk] = customer_id

    def apply(self, message: dict[str, Any]) -> None:
        """Identity side effects of one message, in order."""
        mtype = message["type"]
        user_id, anonymous_id = message.get("userId"), message.get("anonymousId")
        if mtype == "alias":
            self._link(user_id, message["previousId"])
        elif user_id and anonymous_id:
            self._link(user_id, anonymous_id)
        if mtype == "identify":
            self._traits(self.person(user_id or anonymous_id), message.get("traits") or {})

    def _profile(self, profile_id: int) -> Profile:
        return Profile.objects.get(pk=profile_id)

    def _link(self, user_id: str, other_id: str) -> None:
        survivor_id, other_profile_id = self.person(user_id), self.person(other_id)
        if survivor_id == other_profile_id:
            return
        survivor, other = self._profile(survivor_id), self._profile(other_profile_id)
        if other.user_id or (other.customer_id and survivor.customer_id and other.customer_id != survivor.customer_id):
            audit_record(actor=None, action="tracking.merge_refused", target_type="tracking_profile",
                         target_id=survivor.pk,
                         data={"other_profile_id": other.pk, "ids": [user_id, other_id],
                               "reason": "both are identified people; only an admin merges them"})
            return
        self.merge(other, survivor)

    @transaction.atomic
    def merge(self, other: Profile, survivor: Profile) -> None:
        ProfileAlias.objects.filter(profile=other).update(profile=survivor)
        merged_traits = {**(other.traits or {}), **(survivor.traits or {})}
        if merged_traits != survivor.traits:
            survivor.traits = merged_traits
        if survivor.customer_id is None and other.customer_id is not None:
            survivor.customer_id = other.customer_id
        survivor.save()
        other.merged_into = survivor
        other.save(update_fields=["merged_into", "updated_at"])
        Profile.objects.filter(merged_into=other).update(merged_into=survivor)
        StoreChange.objects.create(kind=StoreChange.Kind.MERGE, profile_id=other.pk, into_profile_id=survivor.pk)
        self.merged[other.pk] = survivor.pk
        self.merges.append((other.pk, survivor.pk))
        self.touched.add(survivor.pk)
        self.customer_of.pop(survivor.pk, None)
        for distinct_id, profile_id in list(self.alias.items()):
            if profile_id == other.pk:
                self.alias[distinct_id] = survivor.pk

    def _traits(self, profile_id: int, traits: dict[str, Any]) -> None:
        profile = self._profile(profile_id)
        changed = False
        if traits and {**profile.traits, **traits} != profile.traits:
            profile.traits = {**profile.traits, **traits}
            changed = True
        identities: list[dict] = []
        for kind, key in ((IdentityKind.EMAIL, "email"), (IdentityKind.PHONE, "phone")):
            value = traits.get(key)
            if isinstance(value, str) and value.strip():
                try:
                    identities.append({"kind": kind, "value": normalize_identity(kind, value)})
                except InvalidIdentity:
                    continue
        customer = None
        for identity in identities:
            customer = customer_find_by_identity(kind=identity["kind"], value=identity["value"])
            if customer is not None:
                break
        if customer is not None:
            while customer.merged_into_id is not None:
                customer = Customer.objects.get(pk=customer.merged_into_id)
        if customer is None and identities and profile.customer_id is None:
            name = traits.get("name") if isinstance(traits.get("name"), str) else ""
            customer = customer_create(
                actor=None, display_name=(name or "")[:200],
                first_name=str(traits.get("firstName") or traits.get("first_name") or "")[:100],
                last_name=str(traits.get("lastName") or traits.get("last_name") or "")[:100],
                identities=[{**i, "is_primary": True} for i in identities],
            )
        if customer is not None and profile.customer_id != customer.pk:
            if profile.customer_id is not None:
                audit_record(actor=None, action="tracking.link_refused", target_type="tracking_profile",
                             target_id=profile.pk,
                             data={"customer_id": customer.pk, "linked_customer_id": profile.customer_id,
                                   "reason": "the person is linked to another customer; an admin merges customers"})
            else:
                owner = (Profile.objects.filter(customer=customer, merged_into__isnull=True).exclude(pk=profile.pk)
                         .order_by("pk").first())
                if owner is not None and owner.user_id and profile.user_id:
                    audit_record(actor=None, action="tracking.merge_refused", target_type="tracking_profile",
                                 target_id=profile.pk,
                                 data={"other_profile_id": owner.pk, "customer_id": customer.pk,
                                       "reason": "both are identified people; only an admin merges them"})
                else:
                    profile.customer_id = customer.pk
                    profile.save()
                    changed = False
                    self.touched.add(profile.pk)
                    if owner is not None:
                        survivor, other = (owner, profile) if owner.user_id else (profile, owner)
                        self.merge(other, survivor)
        if changed:
            profile.save()
        self.customer_of.pop(profile_id, None)

    def customer(self, profile_id: int) -> int | None:
        if profile_id not in self.customer_of:
            self.customer_of[profile_id] = Profile.objects.filter(pk=profile_id).values_list(
                "customer_id", flat=True).first()
        return self.customer_of[profile_id]

    def customers_bulk(self, profile_ids: set[int]) -> None:
        wanted = [p for p in profile_ids if p not in self.customer_of]
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start:start + 5000]
            found = dict(Profile.objects.filter(pk__in=chunk).values_list("pk", "customer_id"))
            for pk in chunk:
                self.customer_of[pk] = found.get(pk)


def profiles_for_customers(customer_ids: set[int]) -> dict[int, int]:
    """The person of each helpdesk customer (created for customers never tracked, e.g. email-only)."""
    found: dict[int, int] = {}
    ids = list(customer_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        for customer_id, profile_id in (Profile.objects.filter(customer_id__in=chunk, merged_into__isnull=True)
                                        .order_by("-pk").values_list("customer_id", "pk")):
            found[customer_id] = profile_id  # the oldest profile wins (ordered newest first)
    missing = [c for c in ids if c not in found]
    if missing:
        created = Profile.objects.bulk_create([Profile(customer_id=c) for c in missing], batch_size=2000)
        for customer_id, profile in zip(missing, created, strict=True):
            found[customer_id] = profile.pk
    return found


class ProfileDataHandler:
    """Customer merge, export and erasure reach tracked people and, through StoreChange, their events."""

    name = "tracking_profiles"

    def export(self, *, customer_id: int) -> list[dict]:
        return [
            {"id": p.pk, "user_id": p.user_id, "traits": p.traits, "created_at": p.created_at.isoformat(),
             "ids": list(p.aliases.values_list("distinct_id", flat=True))}
            for p in Profile.objects.filter(customer_id=customer_id, merged_into__isnull=True)
        ]

    def reassign(self, *, source_id: int, target_id: int) -> list[int]:
        moving = list(Profile.objects.filter(customer_id=source_id, merged_into__isnull=True).order_by("pk"))
        survivor = Profile.objects.filter(customer_id=target_id, merged_into__isnull=True).order_by("pk").first()
        resolver = Resolver()
        for profile in moving:
            if survivor is None:
                profile.customer_id = target_id
                profile.save(update_fields=["customer", "updated_at"])
                survivor = profile
            else:
                # An admin's customer merge is the one way two identified people become one.
                resolver.merge(profile, survivor)
        return [p.pk for p in moving]

    def erase(self, *, customer_id: int) -> int:
        profiles = list(Profile.objects.filter(customer_id=customer_id).values_list("pk", flat=True))
        Profile.objects.filter(pk__in=profiles).update(traits={}, user_id=None)
        ProfileAlias.objects.filter(profile_id__in=profiles).delete()
        StoreChange.objects.bulk_create([StoreChange(kind=StoreChange.Kind.ERASE, profile_id=p) for p in profiles])
        return len(profiles)
