"""``column IN (...)`` lists cut to a bounded size: SQLite allows at most 32,766 bound
parameters in a statement, and long lists plan badly on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

IN_LIST_SIZE = 500
T = TypeVar("T")


def in_slices(values: Sequence[T]) -> Iterable[Sequence[T]]:
    """``values`` in consecutive runs of at most IN_LIST_SIZE."""
    for start in range(0, len(values), IN_LIST_SIZE):
        yield values[start : start + IN_LIST_SIZE]
