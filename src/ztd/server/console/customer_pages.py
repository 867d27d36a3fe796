"""A partner's pages: customers, a customer's batches, a batch's devices (with policy
assignment), and policies. Everything goes through the /v1 API with the viewer's token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ztd.server.console.api_calls import Api, seg
from ztd.server.console.guard import form_of, items, ok, page
from ztd.server.console.pages import Viewer, error_page, render
from ztd.wire import PolicySettingsType

router = APIRouter()
CUSTOMERS_AT_MOST = 5000
POLICY_SETTINGS = tuple(m.value for m in PolicySettingsType if m is not PolicySettingsType.NONE)


async def customer_of(api: Api, customer_id: str) -> dict[str, Any]:
    """The customer; another partner's raises the API's 404 (ApiProblem)."""
    customer: dict[str, Any] = ok(await api.call("GET", f"/v1/customers/{seg(customer_id)}")).json()
    return customer


async def customer_with(
    api: Api, customer_id: str, collection: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The customer and the items of one of its collections ("deviceBatches", "policies")."""
    customer = await customer_of(api, customer_id)
    return customer, await items(api, f"/v1/customers/{seg(customer_id)}/{collection}")


@router.get("/customers")
async def customers_page(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:  # every page: a partner's customers fit on a screen or a scroll
            headers = {"MS-ContinuationToken": token} if token else None
            data = ok(
                await api.call("GET", "/v1/customers", params={"size": "500"}, headers=headers)
            ).json()
            found += data["items"]
            token = data.get("continuationToken")
            if not token or len(found) > CUSTOMERS_AT_MOST:
                break
        return render(request, "customers.html", {"customers": found}, viewer=viewer)

    return await page(request, handler)


@router.post("/customers")
async def create_customer(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        name = str(form.get("name") or "").strip()
        domain = str(form.get("domain") or "").strip()
        body = {"companyProfile": {"domain": domain or None}, "billingProfile": {}}
        body["billingProfile"]["companyName"] = name or None
        created = ok(await api.call("POST", "/v1/customers", json=body)).json()
        return RedirectResponse(f"/console/customers/{seg(created['id'])}", 303)

    return await page(request, handler, write=True)


@router.get("/customers/{customer_id}")
async def batches_page(request: Request, customer_id: str) -> Response:
    return await _customer_page(request, customer_id, "deviceBatches", "batches.html", "batches")


@router.get("/customers/{customer_id}/batches/{batch_id}")
async def devices_page(request: Request, customer_id: str, batch_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer, policies = await customer_with(api, customer_id, "policies")
        batch_path = f"/v1/customers/{seg(customer_id)}/deviceBatches/{seg(batch_id)}"
        batch = ok(await api.call("GET", batch_path)).json()
        query = request.query_params
        search = query.get("q", "").strip()
        policy_filter = query.get("policy", "")
        # The API filters in the database (its ?search= and ?policy=) and pages the matches
        # as it pages the whole batch: one home for the match rule and for tenancy.
        filters = {"search": search, "policy": policy_filter}
        page_token = query.get("page", "")
        headers = {"MS-ContinuationToken": page_token} if page_token else None
        data = ok(
            await api.call(
                "GET",
                f"{batch_path}/devices",
                params={k: v for k, v in filters.items() if v},
                headers=headers,
            )
        ).json()
        shown, next_token = data["items"], data.get("continuationToken")
        next_query = {"q": search, "policy": policy_filter, "page": next_token or ""}
        return render(
            request,
            "devices.html",
            {
                "customer": customer,
                "batch": batch,
                "devices": shown,
                "next_token": next_token,
                "next_query": {k: v for k, v in next_query.items() if v},
                "matches": data.get("totalCount"),
                "search": search,
                "policy_filter": policy_filter,
                "policies": policies,
                "policy_names": {p["id"]: p["name"] for p in policies},
            },
            viewer=viewer,
        )

    return await page(request, handler)


@router.post("/customers/{customer_id}/batches/{batch_id}/policy")
async def assign_policy(request: Request, customer_id: str, batch_id: str) -> Response:
    """Assign (or with no policy chosen, unassign) a policy to the selected devices."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        policy_id = str(form.get("policy") or "")
        device_ids = [str(d) for d in form.getlist("device")]
        if not device_ids:
            return error_page(
                request,
                400,
                "No device selected",
                "Tick the devices to change in the list, then choose the policy again.",
                viewer,
            )
        entry: dict[str, Any] = {"key": "o_o_b_e"}
        if policy_id:
            entry["value"] = policy_id
        base = f"/v1/customers/{seg(customer_id)}/deviceBatches/{seg(batch_id)}/devices"
        for device_id in device_ids:
            ok(await api.call("PUT", f"{base}/{seg(device_id)}", json={"policies": [entry]}))
        return RedirectResponse(
            f"/console/customers/{seg(customer_id)}/batches/{seg(batch_id)}", 303
        )

    return await page(request, handler, write=True)


@router.get("/customers/{customer_id}/policies")
async def policies_page(request: Request, customer_id: str) -> Response:
    return await _customer_page(
        request, customer_id, "policies", "policies.html", "policies", settings=POLICY_SETTINGS
    )


async def _customer_page(
    request: Request,
    customer_id: str,
    collection: str,
    template: str,
    name: str,
    **extra: object,
) -> Response:
    """A page of one of the customer's collections, shown as ``name``."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        customer, found = await customer_with(api, customer_id, collection)
        context = {"customer": customer, name: found, **extra}
        return render(request, template, context, viewer=viewer)

    return await page(request, handler)


@router.post("/customers/{customer_id}/policies")
async def save_policy(request: Request, customer_id: str) -> Response:
    """Create a policy, or (with ``id``) replace an existing one's name, description and
    settings; ``delete`` removes it."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        base = f"/v1/customers/{seg(customer_id)}/policies"
        policy_id = str(form.get("id") or "")
        if policy_id and form.get("delete"):
            ok(await api.call("DELETE", f"{base}/{seg(policy_id)}"))
        else:
            body = {
                "name": str(form.get("name") or ""),
                "description": str(form.get("description") or ""),
                "category": "o_o_b_e",
                "policySettings": [str(s) for s in form.getlist("settings")],
            }
            if policy_id:
                ok(await api.call("PUT", f"{base}/{seg(policy_id)}", json=body))
            else:
                ok(await api.call("POST", base, json=body))
        return RedirectResponse(f"/console/customers/{seg(customer_id)}/policies", 303)

    return await page(request, handler, write=True)
