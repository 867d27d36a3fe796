"""Operators' view of a running ztd: Prometheus metrics, structured logs, optional tracing."""
