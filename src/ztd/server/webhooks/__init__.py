"""Webhooks: partners subscribe to events (a job finished, a batch created); the event is
stored in the transaction that caused it (an outbox), and the worker delivers it, signed per
the Standard Webhooks specification, at least once, with retries, a log and replay.

Modules: ``catalog`` (event types and their payload schemas), ``events`` (recording),
``subscriptions`` (registrations and their secrets), ``signing``, ``addresses`` (which
IP addresses are global unicast), ``egress`` (where a delivery may go, and the one HTTP
request), ``delivery`` (claim, send, retry),
``history`` (the delivery log and replay), ``listen`` (the channel `ztd listen` drains)."""
