"""Customer resources (the subset a device-deployment tool needs)."""

from __future__ import annotations

from ztd.wire.base import ResourceAttributes, WireModel, attributes
from ztd.wire.resources import ResourceLinks


class CustomerCompanyProfile(WireModel):
    tenant_id: str | None = None
    domain: str | None = None
    company_name: str | None = None
    attributes: ResourceAttributes = attributes("CustomerCompanyProfile")


class CustomerBillingProfile(WireModel):
    company_name: str | None = None
    email: str | None = None
    culture: str | None = None
    language: str | None = None
    attributes: ResourceAttributes = attributes("CustomerBillingProfile")


class Customer(WireModel):
    id: str | None = None
    commerce_id: str | None = None
    company_profile: CustomerCompanyProfile | None = None
    billing_profile: CustomerBillingProfile | None = None
    relationship_to_partner: str | None = None
    allow_delegated_access: bool | None = None
    links: ResourceLinks | None = None
    attributes: ResourceAttributes = attributes("Customer")
