"""Signing a test client in to the console, and reading its forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


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
