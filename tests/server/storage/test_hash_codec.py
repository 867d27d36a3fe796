"""Compact hash storage gives back exactly the string that was sent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ztd.identity import synthesize_device
from ztd.server.storage.hash_codec import pack, unpack


@given(
    st.text()
    | st.text(alphabet="AB=")
    | st.builds(lambda n, k: "x" * k + "A" * n, st.integers(0, 3000), st.integers(0, 3))
)
def test_round_trip_is_exact(text: str) -> None:
    assert unpack(*pack(text)) == text


def test_real_shaped_hash_shrinks_to_a_third() -> None:
    text = synthesize_device(3).hardware_hash
    stored = pack(text)
    assert stored.blob is not None and len(stored.blob) < len(text) / 2
    assert unpack(*stored) == text
    assert pack(None) == (None, None, None)


def test_device_ids_are_unique_version_7_guids() -> None:
    import uuid

    from ztd.server.storage.ids import new_ids

    ids = new_ids(2000)
    assert len(set(ids)) == 2000
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_hash_shaped_text_with_a_non_zero_tail_still_round_trips() -> None:
    text = synthesize_device(4).hardware_hash
    for changed in (text[:-1] + "B", text[:1700] + "B" + text[1701:], text[:8], text + "AAAA"):
        assert unpack(*pack(changed)) == changed
