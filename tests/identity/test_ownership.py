"""The 806 / 808 rule alone: who holds a taken identity decides the answer."""

from __future__ import annotations

import pytest

from ztd.identity import dds
from ztd.identity.ownership import Holder, Refusal, taken_identity_refusal

CUSTOMER = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"
SIBLING = "0f1e2d3c-4b5a-4697-8877-665544332211"  # another customer of the same partner
STRANGER = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f00112233"  # a customer of another partner
NEAR_MISS = "c7f3c849-129f-4b85-a96d-4f8e88b315a4"  # one digit off CUSTOMER
DEVICE = "5b6f0c1e-2d3c-4b5a-8697-a8b9cadbecfd"


def test_the_uploading_customer_holds_it_806_naming_its_device() -> None:
    refusal = taken_identity_refusal(CUSTOMER, Holder(CUSTOMER, DEVICE))
    assert refusal == Refusal(dds.DEVICE_ALREADY_ASSIGNED, DEVICE)
    assert (refusal.error.code, refusal.error.name) == ("806", "ZtdDeviceAlreadyAssigned")


@pytest.mark.parametrize(
    "holder_customer", [SIBLING, STRANGER, NEAR_MISS], ids=["sibling", "other partner", "near miss"]
)
def test_another_tenant_holds_it_808_naming_no_device(holder_customer: str) -> None:
    """Another tenant's device id never leaks, whether that tenant is the same partner's
    customer, another partner's, or has an id one digit off the caller's."""
    refusal = taken_identity_refusal(CUSTOMER, Holder(holder_customer, DEVICE))
    assert refusal == Refusal(dds.DEVICE_ASSIGNED_TO_OTHER_TENANT, None)
    assert (refusal.error.code, refusal.error.name) == ("808", "ZtdDeviceAssignedToOtherTenant")


def test_nobody_holds_it_any_more_storage_error() -> None:
    """The holder was deleted between the insert that conflicted and the look-up: a
    retryable StorageError, never an 806 or 808 naming a device that is gone."""
    assert taken_identity_refusal(CUSTOMER, None) == Refusal(dds.STORAGE_ERROR, None)


def test_the_rule_is_the_one_registration_applies() -> None:
    """Registration decides conflicts through this function, not a copy of it."""
    from ztd.server.services import registration

    assert registration.taken_identity_refusal is taken_identity_refusal
