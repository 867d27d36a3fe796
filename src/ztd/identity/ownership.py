"""The 806 / 808 rule: what an upload reports for a device whose identity is already taken.

A device is one identity (its hardware key or its PKID) and has at most one owner, enforced by
the registry's unique keys. When a customer's upload finds the identity held, the answer
depends only on who holds it:

- this customer: ``806 ZtdDeviceAlreadyAssigned``, naming the device already registered (the
  caller already sees it in its own device list);
- another tenant, of this partner or any other: ``808 ZtdDeviceAssignedToOtherTenant``, naming
  no device, since another tenant's device id must not leak;
- nobody any more (the holder was deleted between the insert and the look-up):
  ``StorageError``, which the client may retry.
"""

from __future__ import annotations

from typing import NamedTuple

from ztd.identity import dds


class Holder(NamedTuple):
    """The device that holds an identity key: its customer and its id."""

    customer_id: str
    device_id: str


class Refusal(NamedTuple):
    """Why a device was not registered, and the device id its status entry names (or None)."""

    error: dds.DdsError
    device_id: str | None


def taken_identity_refusal(customer_id: str, holder: Holder | None) -> Refusal:
    """The refusal for a device of ``customer_id`` whose identity ``holder`` already holds
    (None: nobody does any more). Pure; see the module docstring for the rule."""
    if holder is None:
        return Refusal(dds.STORAGE_ERROR, None)
    if holder.customer_id == customer_id:
        return Refusal(dds.DEVICE_ALREADY_ASSIGNED, holder.device_id)
    return Refusal(dds.DEVICE_ASSIGNED_TO_OTHER_TENANT, None)
