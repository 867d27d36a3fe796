"""The wire base model: case-insensitive reading, camelCase writing, no nulls."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_enum_values=False,
    )

    # Lower-cased wire name or field name -> field name, built once per subclass.
    _names_by_lower: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        names: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            names[name.lower()] = name
            if field.alias:
                names[field.alias.lower()] = name
        cls._names_by_lower = names

    @model_validator(mode="before")
    @classmethod
    def _match_names_ignoring_case(cls, data: Any) -> Any:
        # The .NET SDK sends PascalCase ("SerialNumber"); Newtonsoft matches names ignoring
        # case, so Partner Center clients expect the server to do the same. Nulls are
        # dropped: the SDKs send them for every unset property.
        if not isinstance(data, dict):
            return data
        names = cls._names_by_lower
        matched: dict[str, Any] = {}
        for key, value in data.items():
            name = names.get(key.lower()) if isinstance(key, str) else None
            if name is not None and value is not None:
                matched[name] = value
        return matched

    def to_wire(self) -> dict[str, Any]:
        return dump_wire(self)


def dump_wire(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


class ResourceAttributes(WireModel):
    object_type: str | None = None
    etag: str | None = None


def attributes(object_type: str) -> Any:
    """A default ``attributes`` field naming the resource's .NET class."""
    return Field(default_factory=lambda: ResourceAttributes(object_type=object_type))
