"""What request handlers share: settings, database, signing keys, clock, worker wake-up."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from starlette.requests import Request

from ztd.server.auth.attempt_limits import AttemptLimits
from ztd.server.auth.keys import SigningKeys
from ztd.server.auth.secret_pool import SecretPool
from ztd.server.auth.tokens import TokenValidator
from ztd.server.clock import Clock, utc_now
from ztd.server.settings import Settings
from ztd.server.status_reads.component import StatusReads
from ztd.server.storage.database import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    keys: SigningKeys
    tokens: TokenValidator
    # The token endpoint's own guards: attempt limits and the secret-checking threads.
    token_attempts: AttemptLimits
    secret_pool: SecretPool
    clock: Clock = utc_now
    status_reads: StatusReads = field(default_factory=StatusReads)
    # Set after each enqueue so an idle embedded worker starts at once instead of polling.
    wakeup: threading.Event = field(default_factory=threading.Event)
    # Set after the API queues webhook deliveries (a test event, a replay) so that the
    # embedded worker's webhook dispatcher sends them at once instead of at its next poll.
    webhook_wakeup: threading.Event = field(default_factory=threading.Event)


def context_of(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ztd
    return ctx
