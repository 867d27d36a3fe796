"""Tenant isolation, driven by hypothesis: another tenant's customer, batch, device or job
answers exactly like one that does not exist, and no response carries another tenant's data."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.support.api import create_batch, hash_device
from tests.support.world import make_token
from ztd.server.clock import utc_now
from ztd.server.jobs.worker import Worker
from ztd.server.services import tenancy
from ztd.server.settings import Settings
from ztd.server.storage.database import Database
from ztd.server.storage.schema import webhook_events


@dataclass
class Tenant:
    partner: str
    token: str
    customers: list[str] = field(default_factory=list)
    batches: list[tuple[str, str]] = field(default_factory=list)  # (customer, batch name)
    devices: list[tuple[str, str, str]] = field(default_factory=list)  # (customer, batch, id)
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (customer, tracking id)
    policies: list[tuple[str, str]] = field(default_factory=list)  # (customer, policy id)
    registrations: list[str] = field(default_factory=list)  # webhook registration ids
    events: list[str] = field(default_factory=list)  # webhook event ids (webhook-id)
    secrets: set[str] = field(default_factory=set)  # every identifier a stranger must not see


def build_world(
    client: TestClient, db: Database, app_settings: Settings, seed: int
) -> list[Tenant]:
    rng = random.Random(seed)
    tenants: list[Tenant] = []
    device_seed = seed * 1000
    now = utc_now()
    for p in range(rng.randint(2, 3)):
        with db.write() as conn:
            partner = tenancy.add_partner(conn, f"partner {p}", now)
            customers = [
                tenancy.add_customer(conn, f"customer {p}.{c}", partner, now)
                for c in range(rng.randint(1, 3))
            ]
        tenant = Tenant(partner, make_token(app_settings, partner), customers)
        for _ in range(rng.randint(1, 2)):  # listen channels: events without an endpoint
            registered = client.post(
                "/webhooks/v1/registration",
                json={"listen": True, "webhookEvents": ["devicebatch.job.completed"]},
                headers={"Authorization": f"Bearer {tenant.token}"},
            ).json()
            tenant.registrations.append(registered["id"])
            tenant.secrets.update({registered["id"], registered["secret"]})
        for customer in customers:
            for b in range(rng.randint(0, 2)):
                name = f"batch-{p}-{b}-{rng.randint(0, 9999)}"
                devices = []
                for _ in range(rng.randint(1, 3)):
                    device_seed += 1
                    devices.append(hash_device(device_seed))
                tracking = create_batch(
                    client, customer, {"Authorization": f"Bearer {tenant.token}"}, name, devices
                )
                tenant.batches.append((customer, name))
                tenant.jobs.append((customer, tracking))
                tenant.secrets.update({name, tracking, *(d["SerialNumber"] for d in devices)})
            for _ in range(rng.randint(0, 1)):
                name = f"policy-{p}-{rng.randint(0, 9999)}"
                created = client.post(
                    f"/v1/customers/{customer}/policies",
                    json={"name": name, "policySettings": ["skip_eula"]},
                    headers={"Authorization": f"Bearer {tenant.token}"},
                ).json()
                tenant.policies.append((customer, created["id"]))
                tenant.secrets.update({name, created["id"]})
            tenant.secrets.add(customer)
        tenants.append(tenant)
    Worker(db, app_settings).run_until_idle()
    with db.read() as conn:
        for tenant in tenants:
            tenant.events = list(
                conn.execute(
                    select(webhook_events.c.id).where(webhook_events.c.partner_id == tenant.partner)
                ).scalars()
            )
            tenant.secrets.update(tenant.events)
    for tenant in tenants:
        for customer, batch in tenant.batches:
            listing = client.get(
                f"/v1/customers/{customer}/deviceBatches/{batch}/devices",
                headers={"Authorization": f"Bearer {tenant.token}"},
            ).json()
            for device in listing["items"]:
                tenant.devices.append((customer, batch, device["id"]))
                tenant.secrets.add(device["id"])
    return tenants


def probes(
    customer: str, batch: str, device: str, job: str, policy: str
) -> list[tuple[str, str, Any]]:
    base = f"/v1/customers/{customer}"
    return [
        ("GET", f"{base}/policies", None),
        ("GET", f"{base}/policies/{policy}", None),
        ("PUT", f"{base}/policies/{policy}", {"name": "probe", "policySettings": []}),
        ("DELETE", f"{base}/policies/{policy}", None),
        ("GET", base, None),
        ("GET", f"{base}/deviceBatches", None),
        ("POST", f"{base}/deviceBatches", {"batchId": "probe", "devices": [hash_device(1)]}),
        ("POST", f"{base}/deviceBatches/{batch}/devices", [hash_device(2)]),
        ("GET", f"{base}/deviceBatches/{batch}/devices", None),
        ("DELETE", f"{base}/deviceBatches/{batch}/devices/{device}", None),
        ("GET", f"{base}/batchJobStatus/{job}", None),
    ]


def webhook_probes(registration: str, event: str) -> list[tuple[str, str, Any]]:
    base = f"/webhooks/v1/registration/{registration}"
    return [
        ("GET", base, None),
        ("DELETE", base, None),
        (
            "PUT",
            base,
            {"webhookUrl": "https://93.184.216.34/hook", "webhookEvents": ["devicebatch.created"]},
        ),
        ("POST", f"{base}/rotateSecret", {"overlapSeconds": 60}),
        ("GET", f"{base}/attempts", None),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries?size=1&continuationToken=d2Q6OTk5", None),
        ("POST", f"{base}/replay", {"failedSince": "2000-01-01T00:00:00Z"}),
        ("GET", f"{base}/listen?wait=0", None),
        ("POST", "/webhooks/v1/registration/validationEvents", {"registrationId": registration}),
        ("GET", f"/webhooks/v1/events/{event}", None),
        ("GET", f"/webhooks/v1/events/{event}/deliveries", None),
        ("POST", f"/webhooks/v1/events/{event}/replay", None),
    ]


def answer(client: TestClient, token: str, method: str, path: str, body: Any) -> Any:
    response = client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    return response


def normalized(response: Any, replacements: dict[str, str]) -> tuple[int, str, str]:
    text = response.text
    for real, placeholder in replacements.items():
        text = text.replace(real, placeholder)
    return response.status_code, response.headers.get("content-type", ""), text


@pytest.fixture
def tenants(client: TestClient, db: Database, settings: Settings) -> list[Tenant]:
    return build_world(client, db, settings, seed=7)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_foreign_resources_are_indistinguishable_from_missing_ones(
    client: TestClient, tenants: list[Tenant], data: st.DataObject
) -> None:
    caller = data.draw(st.sampled_from(tenants), label="caller")
    owner = data.draw(st.sampled_from([t for t in tenants if t is not caller]), label="owner")
    own_customer = data.draw(st.sampled_from(caller.customers), label="own customer")
    foreign_customer = data.draw(st.sampled_from(owner.customers), label="foreign customer")
    batch = data.draw(
        st.sampled_from([b for _, b in owner.batches] or ["no-batch"]), label="foreign batch"
    )
    device = data.draw(
        st.sampled_from([d for *_, d in owner.devices] or [str(uuid.uuid4())]), label="device"
    )
    job = data.draw(st.sampled_from([j for _, j in owner.jobs] or [str(uuid.uuid4())]), label="job")
    policy = data.draw(
        st.sampled_from([p for _, p in owner.policies] or [str(uuid.uuid4())]), label="policy"
    )
    missing = {
        foreign_customer: str(uuid.uuid4()),
        batch: f"missing-{uuid.uuid4().hex[:8]}",
        device: str(uuid.uuid4()),
        job: str(uuid.uuid4()),
        policy: str(uuid.uuid4()),
    }
    # Foreign customer in the path, and our own customer with foreign batch/device/job ids.
    for customer in (foreign_customer, own_customer):
        real = probes(customer, batch, device, job, policy)
        fake = probes(
            missing[foreign_customer] if customer == foreign_customer else customer,
            missing[batch],
            missing[device],
            missing[job],
            missing[policy],
        )
        placeholders = {value: f"<{i}>" for i, value in enumerate(missing)}
        placeholders.update({value: f"<{i}>" for i, value in enumerate(missing.values())})
        for (method, path, body), (_, fake_path, fake_body) in zip(real, fake, strict=True):
            foreign_ids = {batch, device, job, policy} & set(path.split("/"))
            if customer == own_customer and not foreign_ids:
                continue  # our own customer and nothing foreign in the path: legitimate
            exists = answer(client, caller.token, method, path, body)
            absent = answer(client, caller.token, method, fake_path, fake_body)
            assert normalized(exists, placeholders) == normalized(absent, placeholders), (
                method,
                path,
            )
            assert exists.status_code in (400, 404), (method, path, exists.text)
            leaked = {s for s in owner.secrets if s in exists.text} - set(path.split("/"))
            assert not leaked, (method, path, leaked)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_foreign_webhook_registrations_and_events_are_indistinguishable_from_missing_ones(
    client: TestClient, tenants: list[Tenant], data: st.DataObject
) -> None:
    caller = data.draw(st.sampled_from(tenants), label="caller")
    owner = data.draw(st.sampled_from([t for t in tenants if t is not caller]), label="owner")
    registration = data.draw(st.sampled_from(owner.registrations), label="registration")
    event = data.draw(
        st.sampled_from(owner.events or [f"msg_{uuid.uuid4().hex}"]), label="foreign event"
    )
    missing = {registration: str(uuid.uuid4()), event: f"msg_{uuid.uuid4().hex}"}
    placeholders = {value: f"<{i}>" for i, value in enumerate(missing)}
    placeholders.update({value: f"<{i}>" for i, value in enumerate(missing.values())})
    real = webhook_probes(registration, event)
    fake = webhook_probes(*missing.values())
    for (method, path, body), (_, fake_path, fake_body) in zip(real, fake, strict=True):
        exists = answer(client, caller.token, method, path, body)
        absent = answer(client, caller.token, method, fake_path, fake_body)
        assert normalized(exists, placeholders) == normalized(absent, placeholders), (method, path)
        assert exists.status_code in (400, 404), (method, path, exists.text)
        texts = body.values() if isinstance(body, dict) else ()
        sent = {*path.split("/"), *(v for v in texts if isinstance(v, str))}
        leaked = {s for s in owner.secrets if s in exists.text} - sent  # echoes are no leak
        assert not leaked, (method, path, leaked)
    listing = answer(client, caller.token, "GET", "/webhooks/v1/registration", None)
    assert listing.status_code == 200
    assert not {s for s in owner.secrets if s in listing.text}
