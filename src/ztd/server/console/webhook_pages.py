"""A partner's webhook pages: the registrations (add, delete, send a test event, rotate the
secret, each new secret shown once) and a registration's delivery log (every event and its
attempts, paged, live while a delivery is due; replay one event or the failed ones; re-enable
a disabled registration).

Everything goes through /webhooks/v1 with the viewer's token, the delivery log included
(its paged read, ``GET .../deliveries``), so roles, tenancy (another partner's registration
is "not found") and validation (a private target refused) are the API's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ztd.server.api.context import context_of
from ztd.server.console.api_calls import Api, seg
from ztd.server.console.guard import Missing, form_of, items, ok, page
from ztd.server.console.pages import Viewer, render
from ztd.server.webhooks import addresses, catalog

router = APIRouter()
REG = "/webhooks/v1/registration"
DELIVERIES_PER_PAGE = 20
REPLAY_DEFAULT_HOURS = 24  # the replay form's starting "failed since"
_DUE = ("pending", "sending")


@router.get("/webhooks")
async def webhooks_page(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        return await _list(request, viewer, api)

    return await page(request, handler)


async def _list(
    request: Request,
    viewer: Viewer,
    api: Api,
    *,
    revealed: dict[str, Any] | None = None,
    problem: str | None = None,
    sent: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The registrations page; ``revealed``: a registration whose new secret is shown this
    once; ``problem`` and ``sent``: the add form refused, with what was typed."""
    context = {
        "registrations": await items(api, REG),
        "event_types": catalog.EVENT_TYPES,
        "revealed": revealed,
        "problem": problem,
        "sent": sent or {"url": "", "events": []},
        "allowed_targets": addresses.ALLOWED_TARGETS[
            context_of(request).settings.webhook_private_policy
        ],
    }
    return render(request, "webhooks.html", context, viewer=viewer, status=status)


@router.post("/webhooks")
async def add_webhook(request: Request) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        url = str(form.get("url") or "").strip()
        events = [str(e) for e in form.getlist("events")]
        answer = await api.call("POST", REG, json={"webhookUrl": url, "webhookEvents": events})
        if not answer.ok:  # the API's words, in the form, with what was typed
            sent = {"url": url, "events": events}
            return await _list(
                request, viewer, api, problem=answer.description, sent=sent, status=answer.status
            )
        return await _list(request, viewer, api, revealed=answer.json(), status=201)

    return await page(request, handler, write=True)


@router.post("/webhooks/{registration_id}/delete")
async def delete_webhook(request: Request, registration_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        ok(await api.call("DELETE", f"{REG}/{seg(registration_id)}"))
        return RedirectResponse("/console/webhooks", 303)

    return await page(request, handler, write=True)


@router.post("/webhooks/{registration_id}/rotate")
async def rotate_secret(request: Request, registration_id: str) -> Response:
    """A new secret, shown once; the old one keeps signing for the API's default overlap."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        rotated = ok(await api.call("POST", f"{REG}/{seg(registration_id)}/rotateSecret")).json()
        return await _list(request, viewer, api, revealed=rotated)

    return await page(request, handler, write=True)


@router.post("/webhooks/{registration_id}/test")
async def send_test_event(request: Request, registration_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        body = {"registrationId": registration_id}
        sent = ok(await api.call("POST", f"{REG}/validationEvents", json=body)).json()
        event_id = sent["eventIds"][0]
        return RedirectResponse(
            f"/console/webhooks/{seg(registration_id)}?test={seg(event_id)}", 303
        )

    return await page(request, handler, write=True)


async def _registration(api: Api, registration_id: str) -> dict[str, Any]:
    """The registration; another partner's raises the API's 404 (ApiProblem)."""
    found: dict[str, Any] = ok(await api.call("GET", f"{REG}/{seg(registration_id)}")).json()
    return found


async def _deliveries(api: Api, registration_id: str, before: str | None) -> dict[str, Any]:
    """A page of the registration's deliveries from the API (``before``: the continuation
    token of the page before it). A token the API refuses is a page that does not exist."""
    params = {"size": str(DELIVERIES_PER_PAGE)}
    if before is not None:
        params["continuationToken"] = before
    answer = await api.call("GET", f"{REG}/{seg(registration_id)}/deliveries", params=params)
    if answer.status == 400 and before is not None:
        raise Missing(f"There is no page of deliveries before {before[:40]!r}.")
    log: dict[str, Any] = ok(answer).json()
    return log


def _before(request: Request) -> str | None:
    return request.query_params.get("before") or None


def _log_context(
    registration: dict[str, Any], log: dict[str, Any], before: str | None
) -> dict[str, Any]:
    return {
        "registration": registration,
        "deliveries": log["items"],
        "next": log.get("continuationToken"),
        "before": before,
        # Refreshed while the newest page has a delivery still due (a test event, a retry).
        "live": before is None and any(d["status"] in _DUE for d in log["items"]),
    }


async def _log_page(
    request: Request,
    viewer: Viewer,
    api: Api,
    registration: dict[str, Any],
    *,
    since: str | None = None,
    problem: str | None = None,
    enable_problem: str | None = None,
    status: int = 200,
) -> Response:
    """The registration's page. ``since``: the replay form's time as typed (default
    REPLAY_DEFAULT_HOURS ago); ``problem``/``enable_problem``: the API's refusal of the
    replay or re-enable form, shown in that form."""
    before = _before(request)  # a form's POST has none: the newest page
    log = await _deliveries(api, registration["id"], before)
    if since is None:
        default = datetime.now(UTC) - timedelta(hours=REPLAY_DEFAULT_HOURS)
        since = default.strftime("%Y-%m-%dT%H:%M")
    shown = request.query_params
    context = {
        **_log_context(registration, log, before),
        "test_event": shown.get("test", ""),
        "queued": shown.get("queued"),
        "enabled": shown.get("enabled") == "1",
        "since": since,
        "problem": problem,
        "enable_problem": enable_problem,
    }
    return render(request, "webhook_log.html", context, viewer=viewer, status=status)


@router.get("/webhooks/{registration_id}")
async def delivery_log_page(request: Request, registration_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        return await _log_page(request, viewer, api, await _registration(api, registration_id))

    return await page(request, handler)


@router.get("/webhooks/{registration_id}/deliveries")
async def delivery_log_part(request: Request, registration_id: str) -> Response:
    """The log's newest page alone, polled by htmx while a delivery is due."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        registration = await _registration(api, registration_id)
        log = await _deliveries(api, registration["id"], None)
        context = _log_context(registration, log, None)
        return render(request, "_deliveries.html", context, viewer=viewer)

    return await page(request, handler)


@router.post("/webhooks/{registration_id}/events/{event_id}/replay")
async def replay_event(request: Request, registration_id: str, event_id: str) -> Response:
    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        await _registration(api, registration_id)
        path = f"/webhooks/v1/events/{seg(event_id)}/replay"
        queued = ok(await api.call("POST", path)).json()["queued"]
        return RedirectResponse(
            f"/console/webhooks/{seg(registration_id)}?queued={int(queued)}", 303
        )

    return await page(request, handler, write=True)


@router.post("/webhooks/{registration_id}/replay")
async def replay_failed(request: Request, registration_id: str) -> Response:
    """Queue again the failed deliveries of events since the form's time (UTC)."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        form = await form_of(request, viewer)
        typed = str(form.get("since") or "").strip()
        since = _with_zone(typed)
        path = f"{REG}/{seg(registration_id)}/replay"
        answer = await api.call("POST", path, json={"failedSince": since})
        if answer.ok:
            queued = int(answer.json()["queued"])
            return RedirectResponse(
                f"/console/webhooks/{seg(registration_id)}?queued={queued}", 303
            )
        registration = await _registration(api, registration_id)  # a 404 stays a 404
        return await _log_page(
            request,
            viewer,
            api,
            registration,
            since=typed,
            problem=answer.description,
            status=answer.status,
        )

    return await page(request, handler, write=True)


@router.post("/webhooks/{registration_id}/enable")
async def reenable(request: Request, registration_id: str) -> Response:
    """Re-enable a disabled registration: the API's PUT with the URL and events it has, which
    clears its reason and restarts its failure clock. An active one is left as it is (a
    second click changes nothing); a refusal (its URL no longer allowed here) is shown in
    the form, in the API's words."""

    async def handler(request: Request, viewer: Viewer, api: Api) -> Response:
        await form_of(request, viewer)
        registration = await _registration(api, registration_id)  # another's: 404
        shown = f"/console/webhooks/{seg(registration['id'])}"
        if registration["status"] == "active":
            return RedirectResponse(shown, 303)
        body = {
            "webhookUrl": registration.get("webhookUrl"),
            "webhookEvents": registration["webhookEvents"],
        }
        answer = await api.call("PUT", f"{REG}/{seg(registration['id'])}", json=body)
        if not answer.ok:
            return await _log_page(
                request,
                viewer,
                api,
                registration,
                enable_problem=answer.description,
                status=answer.status,
            )
        return RedirectResponse(f"{shown}?enabled=1", 303)

    return await page(request, handler, write=True)


def _with_zone(typed: str) -> str | None:
    """The form's time (a datetime-local field, read as UTC) as the API's ISO 8601 with a
    zone; one that already names its zone is sent as typed, and an empty one as none (the
    API then says what it needs)."""
    if not typed:
        return None
    if typed.endswith(("Z", "z")) or "+" in typed[10:] or "-" in typed[10:]:
        return typed
    return typed + "Z"
