"""The status reads' outer ASGI layer: a cached poll answered before the framework.

Pollers hit ``GET /v1/customers/{c}/batchJobStatus/{t}`` far more than anything else. When
the job is finished and its document cached, the token is one already verified, the read
rule (``StatusReads.may_read``) allows it and the partner-customer relationship was
confirmed moments ago, this layer answers from memory: no framework, no thread, no database.
Anything else (first poll, unfinished job, a refusal, any error) goes on to the app, whose
route answers it the normal way and fills the cache. The layer never refuses anything
itself, so every refusal keeps the route's status and body.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ztd.server.auth.tokens import TokenValidator
from ztd.server.observe.http import fast_status_counter
from ztd.server.status_reads.cache import FinishedDocument
from ztd.server.status_reads.component import StatusReads
from ztd.server.status_reads.etag import etag_matches
from ztd.server.status_reads.keys import poll_key

Headers = list[tuple[bytes, bytes]]
# Partner Center's response headers (MS-CorrelationId, MS-RequestId, MS-CV, MS-ServerId,
# Date) for a request with these MS-CorrelationId, MS-RequestId and MS-CV values (None when
# absent): the headers layer's own (``PartnerCenterHeaders.stamp_ids``).
Stamp = Callable[[bytes | None, bytes | None, bytes | None], Headers]

# Counted under the route's counter, in batches (see AnswerCount).
_ANSWERED_200 = fast_status_counter(200)
_ANSWERED_304 = fast_status_counter(304)
_JSON = b"application/json; charset=utf-8"


class StatusLane:
    def __init__(self, app: ASGIApp, reads: StatusReads, tokens: TokenValidator, stamp: Stamp):
        self.app = app
        self.reads = reads
        self.tokens = tokens
        self.stamp = stamp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            found = self._cached(scope)
            if found is not None:
                doc, not_modified, headers = found
                headers.append((b"etag", doc.etag.encode()))
                if not_modified:
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    _ANSWERED_304.add()
                    return
                headers.append((b"content-type", _JSON))
                headers.append((b"content-length", b"%d" % len(doc.body)))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": doc.body})
                _ANSWERED_200.add()
                return
        await self.app(scope, receive, send)

    def _cached(self, scope: Scope) -> tuple[FinishedDocument, bool, Headers] | None:
        """The cached document this poll may be answered with, whether its If-None-Match
        names it, and the response's headers so far; None to leave the poll to the route."""
        key = poll_key(scope["path"])
        if key is None:
            return None
        reads = self.reads
        doc = reads.cache.document(key)
        if doc is None:  # only finished jobs' documents are ever cached
            return None
        authorization = if_none_match = correlation_id = request_id = cv = None
        for name, value in scope["headers"]:  # one pass; ASGI servers send lower-case names
            if name == b"authorization":
                authorization = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"ms-correlationid":
                correlation_id = value
            elif name == b"ms-requestid":
                request_id = value
            elif name == b"ms-cv":
                cv = value
        if authorization is None or authorization[:7].lower() != b"bearer ":
            return None
        # Only a token verified before: verifying may read key files or fetch an issuer's
        # keys, which must not happen on the event loop (the route does it in a thread).
        principal = self.tokens.cached(authorization[7:].decode("latin-1").strip())
        if principal is None:
            return None
        customer_id = key[0]
        if not reads.may_read(principal, customer_id):
            return None
        # Last: past its refresh age it elects this poll to re-confirm through the route.
        if not reads.cache.relationship_holds(principal.partner_id, customer_id):
            return None
        matches = if_none_match is not None and etag_matches(
            if_none_match.decode("latin-1"), doc.etag
        )
        return doc, matches, self.stamp(correlation_id, request_id, cv)
