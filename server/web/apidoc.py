"""What the OpenAPI document says to people: Chinese descriptions, examples and enum labels.

The texts live in :mod:`server.web.glossary`, keyed by schema class and field name, so that the
schema modules keep only what validation needs. This module applies them while pydantic writes a
model's JSON schema (:class:`DocumentedSchema`) and after it is translated to OpenAPI 3.0
(:func:`finish`: enum labels, examples of nested objects built from their fields' examples).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from server.web import glossary

# Which glossary entries some schema or route used: an entry nothing uses is stale (tests check).
USED: set[str] = set()
_MISSING = object()


def field_doc(cls: type[BaseModel], name: str) -> tuple[Any, ...] | None:
    """(description, example?) of a field, from the class that declares it or any it inherits from."""
    for klass in cls.__mro__:
        entry = glossary.FIELDS.get(klass.__name__, {}).get(name)
        if entry is not None:
            USED.add(f"{klass.__name__}.{name}")
            return entry
    if name in glossary.SHARED:
        USED.add(f"*.{name}")
        return glossary.SHARED[name]
    return None


def _join(*texts: str | None) -> str:
    """Sentences joined once each: a type's own note (e.g. the time format) follows the field's."""
    parts: list[str] = []
    for text in texts:
        if text and text not in parts and not any(text in p for p in parts):
            parts.append(text.rstrip("。"))
    return "。".join(parts)


class DocumentedSchema(GenerateJsonSchema):
    """pydantic's JSON schema of a model, with the glossary's Chinese texts and examples."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        # The class docstring is a note for developers; people read the Chinese one.
        if cls.__name__ in glossary.MODELS:
            USED.add(cls.__name__)
            json_schema["description"] = glossary.MODELS[cls.__name__]
        properties = json_schema.get("properties", {})
        for name, info in cls.model_fields.items():
            prop = properties.get(info.alias or name)
            entry = field_doc(cls, name)
            if prop is None or entry is None:
                continue
            description = _join(entry[0], prop.get("description"))
            if description:
                prop["description"] = description
            if len(entry) > 1:
                prop["examples"] = [entry[1]]
        return json_schema


# -- after the translation to OpenAPI 3.0 ----------------------------------------------


def finish(schemas: dict[str, dict[str, Any]]) -> None:
    """Label enums and give object-valued properties an example built from their fields' examples.

    ``schemas`` are OpenAPI 3.0 component schemas by name, with everything their references reach.
    """
    for schema in schemas.values():
        for prop in _property_schemas(schema):
            label_property(prop)
            if "example" not in prop:
                example = _example_of(prop, schemas, frozenset())
                if example is not _MISSING:
                    prop["example"] = example


def label_property(prop: dict[str, Any]) -> None:
    """`x-enum-descriptions` beside each enum in the property, and the labels in its description.

    Swagger UI shows descriptions, not extensions; code generators read the extension.
    """
    lines = []
    for node in _enum_nodes(prop):
        labels = glossary.labels(node["enum"])
        node["x-enum-descriptions"] = labels
        lines += [f"{value}：{text}" for value, text in zip(node["enum"], labels, strict=True) if value is not None]
    if lines:
        choices = "可选值：" + "；".join(dict.fromkeys(lines))
        if choices not in prop.get("description", ""):
            prop["description"] = _join(prop.get("description"), choices)


def _property_schemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for prop in schema.get("properties", {}).values():
        yield prop
        yield from _property_schemas(prop)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _property_schemas(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            yield from _property_schemas(sub)


def _enum_nodes(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The enums of one property: its own, its items' or its map values' (not nested properties')."""
    if "enum" in schema:
        yield schema
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _enum_nodes(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            yield from _enum_nodes(sub)


def _example_of(schema: dict[str, Any], schemas: dict[str, dict[str, Any]], seen: frozenset[str]) -> Any:
    if "example" in schema:
        return schema["example"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen or name not in schemas:
            return _MISSING
        return _example_of(schemas[name], schemas, seen | {name})
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return _example_of(schema[key][0], schemas, seen)
    if "properties" in schema:
        found = {name: _example_of(sub, schemas, seen) for name, sub in schema["properties"].items()}
        return {name: value for name, value in found.items() if value is not _MISSING}
    if isinstance(schema.get("items"), dict):
        item = _example_of(schema["items"], schemas, seen)
        # A tree's own children: one level shown, the rest an empty list.
        return [] if item is _MISSING else [item]
    return _MISSING


# -- operations and parameters ------------------------------------------------------------


def parameter_doc(name: str, schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(description, schema with its example) of a path parameter or header, by name.

    A name the glossary lacks documents nothing rather than failing: the tests name it.
    """
    if name not in glossary.PARAMETERS:
        return None, schema
    USED.add(f"param.{name}")
    text, example = glossary.PARAMETERS[name]
    return text, {**schema, "example": example}


def operation_description(
    key: str,
    fallback: str | None,
    *,
    auth: bool,
    roles: Iterable[str] | None,
    idempotent: bool,
    paged: bool,
) -> str:
    """The operation's Chinese description: what it does (glossary), then who may call it and how."""
    if key in glossary.OPERATIONS:
        USED.add(f"op.{key}")
    # Without an entry the docstring shows, in English: the tests name the operation.
    lines = [glossary.OPERATIONS.get(key) or (fallback or "").strip()]
    if not auth:
        lines.append("**调用者**：无需登录。")
    elif roles:
        names = "、".join(glossary.label(role) for role in sorted(roles, key=glossary.ROLE_ORDER.index))
        lines.append(f"**调用者**：{names}（需登录，`Authorization: Bearer <token>`）。")
    else:
        lines.append("**调用者**：任何已登录用户（`Authorization: Bearer <token>`）。")
    if paged:
        lines.append(glossary.PAGING)
    if idempotent:
        lines.append(glossary.IDEMPOTENT)
    return "\n\n".join(lines)


def unused() -> list[str]:
    """Glossary entries that no schema, parameter or operation of the built document used."""
    known = {f"{model}.{field}" for model, fields in glossary.FIELDS.items() for field in fields}
    known |= {f"*.{name}" for name in glossary.SHARED}
    known |= set(glossary.MODELS)
    known |= {f"param.{name}" for name in glossary.PARAMETERS}
    known |= {f"op.{key}" for key in glossary.OPERATIONS}
    return sorted(known - USED)
