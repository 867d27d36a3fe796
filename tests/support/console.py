"""Signing a test client in to the console, and reading its forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ztd.identity import synthesize_device


def sign_in(client: TestClient, token: str) -> None:
    page = client.get("/console/sign-in")
    nonce = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert nonce, page.text
    answer = client.post(
        "/console/sign-in",
        data={"csrf": nonce.group(1), "token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def writing_forms(html: str) -> list[str]:
    """The page's POST forms other than signing out."""
    forms = re.findall(r'<form[^>]*method="post"[^>]*>', html)
    return [f for f in forms if "/sign-out" not in f]


def devices_csv(seeds: range | list[int]) -> bytes:
    """An Autopilot CSV (serial and hardware hash) of synthetic devices, one per seed."""
    lines = ["Device Serial Number,Windows Product ID,Hardware Hash"]
    for seed in seeds:
        device = synthesize_device(seed)
        lines.append(f"{device.serial},,{device.hardware_hash}")
    return ("\r\n".join(lines) + "\r\n").encode()
