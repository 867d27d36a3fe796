"""A settings error said as one line: which ZTD_* variable, its value, why, and what it takes.

pydantic's ValidationError for Settings is many lines and names fields (``page_size``), not
the variables an operator sets (``ZTD_PAGE_SIZE``); `explain` says the same in their terms,
with the expected form derived from the field itself (type, bounds, choices, an example),
so the message cannot drift from the code.
"""

from __future__ import annotations

import os
import types
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeGuard, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from ztd.server.settings import Settings
from ztd.server.url_text import shown_url

PREFIX = "ZTD_"
SHOWN_CHARS = 80  # of a value: a JSON list of issuers can be long


def is_settings_error(exc: BaseException) -> TypeGuard[ValidationError | SettingsError]:
    """Whether ``exc`` is Settings refusing its values (not another model's error)."""
    if isinstance(exc, SettingsError):  # a source that cannot read a variable at all
        return True
    return isinstance(exc, ValidationError) and exc.title == Settings.__name__


def explain(exc: ValidationError | SettingsError) -> str:
    """One line for every invalid variable in ``exc`` (a Settings ValidationError), e.g.
    ``ZTD_PAGE_SIZE='abc': input should be a valid integer, unable to parse string as an
    integer; expected a whole number >= 1 (default 100)``; several are joined by " | "."""
    if isinstance(exc, SettingsError):
        return f"{exc} ({exc.__cause__})" if exc.__cause__ else str(exc)
    reasons: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        reasons.setdefault(name, []).append(_why(error))
    return " | ".join(_line(name, why, exc) for name, why in reasons.items())


def variable(name: str) -> str:
    return PREFIX + name.upper()


def _why(error: ErrorDetails) -> str:
    msg = error["msg"].removeprefix("Value error, ")  # a validator's own words follow
    where = ", ".join(_place(part) for part in error["loc"][1:])
    return (f"{where}: " if where else "") + msg[:1].lower() + msg[1:]


def _line(name: str, reasons: list[str], exc: ValidationError) -> str:
    field = Settings.model_fields.get(name)
    if field is None:  # a model-wide check: nothing to name
        return "; ".join(reasons)
    inputs = [e.get("input") for e in exc.errors() if e["loc"][:1] == (name,)]
    value = _value(name, field, inputs[0] if inputs else None)
    return f"{variable(name)}={value}: {'; '.join(dict.fromkeys(reasons))}; {expected(field)}"


def _place(part: int | str) -> str:
    return f"item {part + 1}" if isinstance(part, int) else str(part)


def _value(name: str, field: FieldInfo, given: Any) -> str:
    """The variable's value as set (or ``given``, when the settings were passed in code)."""
    if _secret(field.annotation):
        return "(hidden)"
    raw = {k.upper(): v for k, v in os.environ.items()}.get(variable(name))
    value = raw if raw is not None else given
    if isinstance(value, str) and "://" in value:  # a URL's password is never shown
        value = shown_url(value)
    shown = repr(value)
    return shown if len(shown) <= SHOWN_CHARS else shown[: SHOWN_CHARS - 4] + "...'"


def expected(field: FieldInfo) -> str:
    """What the field takes, as an operator writes it: ``expected a number > 0 (default
    30.0)``, ``expected one of: open, strict (default open)``."""
    # A form no type says (the key-encryption key's) is written out as the description.
    form = field.description or _form(field.annotation)
    bounds = _bounds(field.metadata)
    form += f",{bounds}" if bounds and form.startswith("a ") and " list " in form else bounds
    if field.examples:
        form += f", e.g. {field.examples[0]}"
    default = field.get_default(call_default_factory=True)
    if default not in (None, [], "") and not isinstance(default, SecretStr):
        form += f" (default {_written(default)})"
    return f"expected {form}"


def _form(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is types.UnionType:
        kept = [arg for arg in args if arg is not type(None)]
        return _form(kept[0]) if len(kept) == 1 else " or ".join(_form(a) for a in kept)
    if get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):
        return _form(args[0]) + _bounds(list(annotation.__metadata__))
    if origin is Literal:
        return "one of: " + ", ".join(str(arg) for arg in args)
    if origin is list:  # only JSON says objects; a list of numbers may be comma-separated
        items = _plural(args[0])
        return f"a {'JSON ' if items.startswith('objects') else ''}list of {items}"
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return "one of: " + ", ".join(str(member.value) for member in annotation)
        if issubclass(annotation, bool):
            return "true or false"
        if issubclass(annotation, int):
            return "a whole number"
        if issubclass(annotation, float):
            return "a number"
        if issubclass(annotation, Path):
            return "a path"
        if issubclass(annotation, BaseModel):
            return f"a JSON object with {', '.join(annotation.model_fields)}"
    return "text"


def _plural(annotation: Any) -> str:
    # Annotated[float, FieldInfo(ge=0)] keeps its bounds in a FieldInfo's own metadata.
    if hasattr(annotation, "__metadata__"):
        bounds = [b for m in annotation.__metadata__ for b in getattr(m, "metadata", [m])]
        return _plural(get_args(annotation)[0]) + _bounds(bounds, each=True)
    form = _form(annotation)
    if form.startswith("a JSON object"):
        return "objects" + form.removeprefix("a JSON object")
    return {"a number": "numbers", "a whole number": "whole numbers"}.get(form, "values")


def _bounds(metadata: list[Any], each: bool = False) -> str:
    said = []
    for item in metadata:
        if isinstance(item, Ge):
            said.append(f">= {item.ge}")
        elif isinstance(item, Gt):
            said.append(f"> {item.gt}")
        elif isinstance(item, Le):
            said.append(f"<= {item.le}")
        elif isinstance(item, Lt):
            said.append(f"< {item.lt}")
        elif isinstance(item, MinLen) and item.min_length == 1:
            said.append("not empty")
        elif isinstance(item, MinLen) and item.min_length:
            said.append(f"with at least {item.min_length} items")
        elif getattr(item, "pattern", None):
            said.append(f"matching {item.pattern}")
    if not said:
        return ""
    return (" each " if each else " ") + " and ".join(said)


def _secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _written(default: Any) -> str:
    if isinstance(default, Enum):
        return str(default.value)
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, list):
        return ",".join(_written(v) for v in default)
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)
