"""The status reads' pure parts: the canonical key of a poll, If-None-Match against a strong
ETag, and the cache's relationship memory and generations."""

from __future__ import annotations

import pytest

from ztd.server.status_reads.cache import (
    RELATIONSHIP_REFRESH_SECONDS,
    RELATIONSHIP_RETRY_SECONDS,
    RELATIONSHIP_TTL_SECONDS,
    FinishedDocument,
    StatusCache,
)
from ztd.server.status_reads.etag import etag_matches
from ztd.server.status_reads.keys import poll_key, status_key

C = "c7f3c849-129f-4b85-a96d-4f8e88b315a3"
T = "0b5e2a3c-6d4f-4e8a-9b1c-2d3e4f5a6b7c"


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/customers/{C}/batchJobStatus/{T}",
        f"/V1/CUSTOMERS/{C.upper()}/batchjobstatus/{T.upper()}",
        f"/v1/customers/{{{C}}}/BatchJobStatus/{T.replace('-', '')}",
        f"/v1/customers/urn:uuid:{C}/batchJobStatus/{{{T.upper()}}}",
    ],
)
def test_every_spelling_of_a_poll_has_the_canonical_key(path: str) -> None:
    assert poll_key(path) == (C, T)


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/customers/{C}/batchJobStatus/{T}/",  # trailing slash: the route answers
        f"/v1/customers/{C}/batchJobStatus/{T}/x",
        f"/v1/customers/{C}/deviceBatches/{T}",
        f"/v1/customers/{C}/batchJobStatus",
        f"/v1/customers/{C}/batchJobStatus/",
        f"/v1/customers/not-a-guid/batchJobStatus/{T}",
        f"/v2/customers/{C}/batchJobStatus/{T}",
        f"//v1/customers/{C}/batchJobStatus/{T}",
        "/v1/customers/",
        "/healthz",
        "",
    ],
)
def test_anything_else_has_no_key(path: str) -> None:
    assert poll_key(path) is None


def test_a_36_character_non_guid_gets_a_key_no_document_can_have() -> None:
    # Lower-casing is all the fast lane does for the usual length; the cache holds canonical
    # GUIDs only, so such a key finds nothing and the route answers 404.
    key = poll_key(f"/v1/customers/{C}/batchJobStatus/{T[:-1]}z")
    assert key == (C, T[:-1] + "z") and status_key(*key) is None


def test_status_key_refuses_what_is_no_guid() -> None:
    assert status_key(C.upper(), T) == (C, T)
    assert status_key(C, "batch-1") is None
    assert status_key("", T) is None


ETAG = '"0123456789abcdef0123456789abcdef"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        (ETAG, True),
        (f"W/{ETAG}", True),  # If-None-Match compares weakly (RFC 9110, 13.1.2)
        (f'"other", {ETAG}', True),
        (f'"other",W/{ETAG} ', True),
        ("*", True),
        ('"other"', False),
        (ETAG.strip('"'), False),  # unquoted: not the same tag
        (f'{ETAG[:-2]}"', False),
    ],
)
def test_if_none_match(header: str | None, matches: bool) -> None:
    assert etag_matches(header, ETAG) is matches


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_poll_a_second_reconfirms_a_relationship_before_it_expires() -> None:
    clock = Clock()
    cache = StatusCache(monotonic=clock)
    assert not cache.relationship_holds("p", C)
    cache.remember_relationship("p", C, cache.generation)
    assert all(cache.relationship_holds("p", C) for _ in range(5))
    assert not cache.relationship_holds("q", C) and not cache.relationship_holds("p", T)

    clock.now += RELATIONSHIP_REFRESH_SECONDS
    answers = [cache.relationship_holds("p", C) for _ in range(5)]
    assert answers == [False, True, True, True, True]  # one goes to the database, not all
    clock.now += RELATIONSHIP_RETRY_SECONDS  # that one failed to confirm: another tries
    answers = [cache.relationship_holds("p", C) for _ in range(3)]
    assert answers == [False, True, True]

    clock.now = 1000.0 + RELATIONSHIP_TTL_SECONDS  # never confirmed again: nobody trusts it
    assert not any(cache.relationship_holds("p", C) for _ in range(3))
    cache.remember_relationship("p", C, cache.generation)
    assert cache.relationship_holds("p", C)


def test_what_a_fill_from_before_a_reset_found_is_not_remembered() -> None:
    cache = StatusCache()
    doc = FinishedDocument(b"{}", ETAG)
    before = cache.generation
    cache.remember_document((C, T), doc, before)
    cache.remember_relationship("p", C, before)
    cache.forget_everything()
    assert cache.document((C, T)) is None and not cache.relationship_holds("p", C)
    cache.remember_document((C, T), doc, before)  # a read that began before the reset
    cache.remember_relationship("p", C, before)
    assert cache.document((C, T)) is None and not cache.relationship_holds("p", C)
    cache.remember_document((C, T), doc, cache.generation)
    assert cache.document((C, T)) == doc


def test_documents_are_bounded_by_bytes() -> None:
    cache = StatusCache(max_bytes=1000)
    big = FinishedDocument(b"x" * 251, ETAG)  # over a quarter of the budget: never kept
    cache.remember_document((C, "big"), big, 0)
    assert cache.document((C, "big")) is None
    for i in range(10):
        cache.remember_document((C, str(i)), FinishedDocument(b"x" * 200, ETAG), 0)
        cache.document((C, "0"))  # the first one is read all along: kept
    kept = [i for i in range(10) if cache.document((C, str(i))) is not None]
    assert kept == [0, 6, 7, 8, 9]  # 1,000 bytes hold five
