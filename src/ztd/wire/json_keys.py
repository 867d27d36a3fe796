"""Duplicate property names in a JSON document: refused, never resolved by "last one wins".

JSON parsers keep the last of two equal keys (orjson, Python's json) or the first, or fail
(Newtonsoft with some settings): a body that gives ``serialNumber`` twice means different
devices to different readers. Property names are also matched ignoring case (the .NET SDK
sends PascalCase; see ``WireModel``), and a model's snake_case field name is read too, so
``serialNumber``, ``SerialNumber`` and ``serial_number`` in one object are the same property
given twice. This module is the one home of that rule: the service's request bodies and the
CLI's JSON files both go through ``find_duplicate_key``.

Parsers that keep one of the values leave no trace of the other, so the check compares what
the parsed document holds with what the text holds: every key in JSON text is a string
followed by ``:``, so the text has at least as many ``"`` + ``:`` as the document has keys,
and more exactly when a key was dropped (or when a string value holds ``\\":``, which only
costs a second, exact look). Counting is a regex pass in C; the document walk looks only at
objects. The exact look reparses the text with the standard library, keeping every pair.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["DuplicateKey", "find_duplicate_key", "same_property"]

# A key's closing quote, spaced from its colon ('"a" : 1'; '"a":' is counted apart, in C).
_SPACED_KEY_END: Final = re.compile(r'"[ \t\r\n]+:')
_SPACED_KEY_END_BYTES: Final = re.compile(rb'"[ \t\r\n]+:')
_SHOWN: Final = 40  # characters of a client's property name an error quotes


class DuplicateKey(ValueError):
    """One object of the document names a property twice: ``path`` is the property's JSON
    path (e.g. ``devices[3].serialNumber``), ``key`` and ``other`` its two spellings (equal
    for an exact repeat)."""

    def __init__(self, path: str, key: str, other: str) -> None:
        self.path, self.key, self.other = path, key, other
        if key == other:
            why = f"the property {_quoted(key)} is given twice in one object"
        else:
            why = (
                f"{_quoted(other)} and {_quoted(key)} name the same property (names are "
                "matched ignoring letter case and underscores)"
            )
        super().__init__(
            f"{path}: {why}; which value counts would depend on the reader, so the document "
            "is refused. Give each property once."
        )


def same_property(key: str) -> str:
    """The form in which two property names are the same property (``WireModel`` reads a
    name ignoring case, and a field's snake_case name as well as its camelCase one)."""
    return key.lower().replace("_", "")


def find_duplicate_key(document: Any, text: bytes | str) -> DuplicateKey | None:
    """The first duplicate property of ``document`` (parsed from ``text``), in document
    order, or None. ``text`` must be the JSON text the document was parsed from."""
    clashing, keys = _objects_with_folded_clash(document)
    if not _key_ends_at_most(text, keys):  # a key was dropped, or a value holds '":'
        return _first_in_full_parse(text)
    if clashing:
        return _first_in_order(document, clashing, _first_clash)
    return None


def _key_ends_at_most(text: bytes | str, keys: int) -> bool:
    """Whether the text has at most ``keys`` key ends (a ``"`` then ``:``), counted in C
    and cheapest first: every key end has a colon, and in most bodies every colon is a key's
    (a 40 MB upload is mostly base64, which has none)."""
    if isinstance(text, bytes):
        if text.count(b":") <= keys:
            return True
        return text.count(b'":') + len(_SPACED_KEY_END_BYTES.findall(text)) <= keys
    if text.count(":") <= keys:
        return True
    return text.count('":') + len(_SPACED_KEY_END.findall(text)) <= keys


def _objects_with_folded_clash(document: Any) -> tuple[set[int], int]:
    """The ids of the objects two of whose keys are the same property, and how many keys
    all objects hold. Level by level, looking only at containers; objects with the same
    keys in the same order (10,000 devices) are judged once."""
    judged: dict[tuple[str, ...], bool] = {}
    clashing: set[int] = set()
    keys = 0
    level = [document] if type(document) is dict or type(document) is list else []
    while level:
        nested = []
        for container in level:
            values: Any
            if type(container) is dict:
                keys += len(container)
                if len(container) > 1:
                    names = tuple(container)
                    clash = judged.get(names)
                    if clash is None:
                        clash = judged[names] = _first_clash(names) is not None
                    if clash:
                        clashing.add(id(container))
                values = container.values()
            else:
                values = container
            for value in values:
                if type(value) is dict or type(value) is list:
                    nested.append(value)
        level = nested
    return clashing, keys


def _first_clash(pairs: Any) -> tuple[str, str] | None:
    """(the later spelling, the earlier one) of the first property given twice among
    ``pairs`` (an object's keys, or its (key, value) pairs), or None."""
    seen: dict[str, str] = {}
    for pair in pairs:
        key = pair[0] if type(pair) is tuple else pair
        fold = same_property(key)
        if fold in seen:
            return key, seen[fold]
        seen[fold] = key
    return None


class _Clash(dict[str, Any]):
    """An object whose text gives a property twice, with the two spellings."""

    spellings: tuple[str, str]


def _first_in_full_parse(text: bytes | str) -> DuplicateKey | None:
    """The first property given twice, from a parse that sees every pair (slower: only run
    when the counts say a key may have been dropped)."""

    def keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        clash = _first_clash(pairs)
        if clash is None:
            return dict(pairs)
        marked = _Clash(pairs)
        marked.spellings = clash
        return marked

    try:
        document = json.loads(_lenient(text), object_pairs_hook=keep_pairs)
    except ValueError:
        return None  # the caller parsed it; a reader difference is not the client's fault
    marked: set[int] = set()
    stack = [document]
    while stack:
        value = stack.pop()
        if type(value) is _Clash:
            marked.add(id(value))
        if isinstance(value, dict):
            stack += [v for v in value.values() if isinstance(v, dict | list)]
        elif isinstance(value, list):
            stack += [v for v in value if isinstance(v, dict | list)]
    if not marked:
        return None
    return _first_in_order(document, marked, lambda obj: obj.spellings)


def _lenient(text: bytes | str) -> bytes | str:
    """The text without commas before a closing bracket, which the service accepts (as
    Newtonsoft does) and the standard library does not. Only ever a slow-path concern."""
    if isinstance(text, bytes):
        return re.sub(rb'("(?:[^"\\]|\\.)*")|,(?=\s*[\]}])', lambda m: m.group(1) or b"", text)
    return re.sub(r'("(?:[^"\\]|\\.)*")|,(?=\s*[\]}])', lambda m: m.group(1) or "", text)


def _first_in_order(document: Any, wanted: set[int], spellings: Any) -> DuplicateKey:
    """The DuplicateKey of the first object in ``wanted`` in document order (depth first,
    in key order), with its path."""
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            if id(value) in wanted:
                key, other = spellings(value)
                return DuplicateKey(_join(path, key), key, other)
            children = [(v, _join(path, k)) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(value)]
        else:
            continue
        stack += reversed([(v, p) for v, p in children if isinstance(v, dict | list)])
    raise AssertionError("wanted object not found")


def _join(path: str, key: str) -> str:
    shown = key if len(key) <= _SHOWN else key[:_SHOWN] + "..."
    return f"{path}.{shown}" if path else shown


def _quoted(key: str) -> str:
    return repr(key if len(key) <= _SHOWN else key[:_SHOWN] + "...")
