"""API shapes for customers, their identities and organisations.

In-schemas refuse unknown fields (a misspelt field is a 422 naming it, not silently ignored). Lengths and
formats of customer fields are checked by the services, so the API and the UI give the same reasons.
"""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema
from pydantic import ConfigDict

from cx.customers.models import IdentityKind

MAX_IDENTITIES_PER_REQUEST = 50


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


# --- Organisations ---------------------------------------------------------------------------------
class OrganizationIn(_In):
    name: str = Field(max_length=200)
    domain: str = Field("", max_length=253)
    notes: str = ""


class OrganizationPatchIn(_In):
    """Only the fields sent are changed."""

    name: str = Field(None, max_length=200)
    domain: str = Field(None, max_length=253)
    notes: str = Field(None)


class OrganizationBriefOut(Schema):
    id: int
    name: str
    domain: str


class OrganizationOut(OrganizationBriefOut):
    notes: str
    created_at: datetime
    updated_at: datetime


class OrganizationPageOut(Schema):
    next: str | None = Field(description="Pass as `cursor` for the following page; null on the last page.")
    previous: str | None = Field(description="Pass as `cursor` for the page before; null on the first page.")
    results: list[OrganizationOut]


# --- Identities ------------------------------------------------------------------------------------
class IdentityIn(_In):
    kind: IdentityKind
    value: str = Field(description="Normalised on save: emails lower-cased, phones to +<digits>.")
    is_primary: bool = False


class IdentityOut(Schema):
    id: int
    kind: str
    value: str
    is_primary: bool
    created_at: datetime


# --- Customers -------------------------------------------------------------------------------------
class CustomerIn(_In):
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""
    organization_id: int | None = None
    language: str = ""
    time_zone: str = Field("", description="IANA name, e.g. Europe/Berlin.")
    notes: str = ""
    identities: list[IdentityIn] = Field(default_factory=list, max_length=MAX_IDENTITIES_PER_REQUEST)


class CustomerPatchIn(_In):
    """Only the fields sent are changed; `organization_id: null` removes the organisation."""

    display_name: str = Field(None)
    first_name: str = Field(None)
    last_name: str = Field(None)
    organization_id: int | None = None
    language: str = Field(None)
    time_zone: str = Field(None)
    notes: str = Field(None)


class CustomerOut(Schema):
    id: int
    name: str = Field(description="Display name, else first and last name, else 'Customer <id>'.")
    display_name: str
    first_name: str
    last_name: str
    organization: OrganizationBriefOut | None
    language: str
    time_zone: str
    notes: str
    identities: list[IdentityOut]
    merged_into_id: int | None = Field(description="Set when this record was merged into another customer.")
    merged_at: datetime | None
    erased_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CustomerPageOut(Schema):
    next: str | None = Field(description="Pass as `cursor` for the following page; null on the last page.")
    previous: str | None = Field(description="Pass as `cursor` for the page before; null on the first page.")
    results: list[CustomerOut]


class MergeIn(_In):
    source_id: int = Field(description="The customer merged away; everything it has moves to this customer.")


class EraseOut(Schema):
    customer_id: int
    erased_at: datetime
    counts: dict[str, int] = Field(description="How many records of each kind were erased or stripped.")
