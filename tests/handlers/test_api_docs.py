"""What a frontend developer meets first: /docs works offline and documents every field in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from handlers import (
    account_schemas,
    calendar_schemas,
    hour_request_schemas,
    media_schemas,
    message_schemas,
    notice_schemas,
    question_schemas,
    quiz_schemas,
    reach_schemas,
    review_schemas,
    sharing_schemas,
    task_schemas,
)
from handlers import schemas as schemas_module
from models.users import STAR_HOURS
from server.web import apidoc
from server.web.endpoint import parse_model

JSON_TYPES = {"string": str, "integer": int, "number": int | float, "boolean": bool, "array": list, "object": dict}
ASSET_TYPES = {".css": "text/css", ".js": "javascript", ".png": "image/png"}
# Everything a page can load: src/href attributes, CSS url(), and script-side URLs.
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)|url\s*:\s*["']([^"']+)["']""")


def _chinese(text: Any) -> bool:
    return isinstance(text, str) and re.search(r"[\u4e00-\u9fff]", text) is not None


async def _spec(api) -> dict[str, Any]:
    reply = await api.call("GET", "/docs/openapi.json")
    assert reply.status == 200
    return reply.body


def _properties(where: str, schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted place, schema) of every property, at any depth: nested objects, array items, map values."""
    if not isinstance(schema, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        yield f"{where}.{name}", sub
        yield from _properties(f"{where}.{name}", sub)
    for key in ("items", "additionalProperties"):
        yield from _properties(f"{where}[]", schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            yield from _properties(where, sub)


def _enums(where: str, schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    if "enum" in schema:
        yield where, schema
    for key, value in schema.items():
        if isinstance(value, dict):
            yield from _enums(f"{where}.{key}", value)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                yield from _enums(f"{where}.{key}[{index}]", sub)


def _parameters(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", ()):
                yield f"{method.upper()} {path} {param['in']}:{param['name']}", param


async def test_docs_page_loads_nothing_from_another_host(api):
    page = await api.call("GET", "/docs")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    # The browser enforces it too: the page's policy names this host only.
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "http" not in policy
    refs = [next(g for g in m.groups() if g) for m in _REFERENCES.finditer(page.body)]
    assert "/docs/openapi.json" in refs
    for ref in refs:
        assert not re.match(r"^(?:[a-z]+:)?//", ref, re.I), f"/docs loads {ref} from another host"
    assets = [ref for ref in refs if ref.endswith(tuple(ASSET_TYPES))]
    assert {ref.rsplit(".", 1)[-1] for ref in assets} >= {"css", "js"}
    for ref in assets:
        reply = await api.call("GET", ref)
        assert reply.status == 200, ref
        expected = ASSET_TYPES["." + ref.rsplit(".", 1)[-1]]
        assert expected in reply.headers["Content-Type"], (ref, reply.headers["Content-Type"])


async def test_the_ui_calls_no_other_host_at_run_time(api):
    """Swagger UI's defaults would fetch a demo spec and send ours to an online validator."""
    page = (await api.call("GET", "/docs")).body
    scripts = [m.group(1) for m in re.finditer(r"""<script[^>]*src=["']([^"']+)""", page)]
    setup = "".join([page, *[(await api.call("GET", src)).body for src in scripts if "bundle" not in src]])
    assert "petstore" not in setup
    assert re.search(r"validatorUrl\s*:\s*null", setup), "the online validator badge is not turned off"


async def test_every_schema_property_has_a_chinese_description_and_an_example(api):
    spec = await _spec(api)
    missing = []
    for name, schema in spec["components"]["schemas"].items():
        for place, prop in _properties(name, schema):
            if not _chinese(prop.get("description")):
                missing.append(f"{place}: no Chinese description")
            if "example" not in prop:
                missing.append(f"{place}: no example")
    assert not missing, "\n".join(missing)


async def test_every_schema_is_described_in_chinese(api):
    spec = await _spec(api)
    english = [
        name for name, schema in spec["components"]["schemas"].items() if not _chinese(schema.get("description"))
    ]
    assert not english, english


async def test_every_enum_carries_chinese_labels(api):
    spec = await _spec(api)
    unlabelled = []
    places = [("components", spec["components"]["schemas"])]
    places += [(where, param["schema"]) for where, param in _parameters(spec)]
    for where, schema in places:
        for place, node in _enums(where, schema):
            labels = node.get("x-enum-descriptions")
            if not isinstance(labels, list) or len(labels) != len(node["enum"]) or not all(map(_chinese, labels)):
                unlabelled.append(f"{place}: {node['enum']} → {labels}")
    assert not unlabelled, "\n".join(unlabelled)


async def test_campaign_kinds_read_as_the_county_calls_them(api):
    spec = await _spec(api)
    kind = spec["components"]["schemas"]["CampaignRead"]["properties"]["kind"]
    labels = dict(zip(kind["enum"], kind["x-enum-descriptions"], strict=True))
    assert labels["village_visit"] == "网络大V进乡村"
    assert labels["hometown_showcase"] == "网络达人爱家乡·美丽家乡巡礼"
    # Swagger UI shows descriptions, not extensions: the labels are in the text too.
    assert "village_visit：网络大V进乡村" in kind["description"]


async def test_every_parameter_has_a_chinese_description_and_an_example(api):
    spec = await _spec(api)
    missing = [
        where
        for where, param in _parameters(spec)
        if not _chinese(param.get("description")) or ("example" not in param and "example" not in param["schema"])
    ]
    assert not missing, "\n".join(missing)


async def test_every_operation_is_described_in_chinese(api):
    spec = await _spec(api)
    english = [
        f"{method.upper()} {path}: {op.get('description')!r}"
        for path, operations in spec["paths"].items()
        for method, op in operations.items()
        if not (_chinese(op.get("summary")) and _chinese(op.get("description")))
    ]
    assert not english, "\n".join(english)
    assert all(_chinese(tag.get("description")) for tag in spec.get("tags", ())), spec.get("tags")


async def test_the_star_level_rule_is_documented_with_the_hours_the_service_uses(api):
    spec = await _spec(api)
    text = spec["components"]["schemas"]["UserRead"]["properties"]["star_level"]["description"]
    for stars, hours in enumerate(STAR_HOURS, start=1):
        assert f"≥{hours} 小时 {stars} 星" in text, text


async def test_examples_follow_their_schemas(api):
    """An example a client copies must be something the service accepts: here, its enum and type."""
    spec = await _spec(api)
    wrong = []
    for name, schema in spec["components"]["schemas"].items():
        for place, prop in _properties(name, schema):
            example = prop.get("example")
            if "enum" in prop and example not in prop["enum"]:
                wrong.append(f"{place}: {example!r} not in {prop['enum']}")
            kind = prop.get("type")
            if example is not None and kind in JSON_TYPES and not isinstance(example, JSON_TYPES[kind]):
                wrong.append(f"{place}: {example!r} is not {kind}")
    assert not wrong, "\n".join(wrong)


async def test_the_glossary_has_no_entry_that_matches_nothing(api):
    """A renamed field or handler must take its words along, not leave them behind."""
    await _spec(api)
    assert apidoc.unused() == []


async def test_a_request_body_built_from_the_examples_is_one_the_service_accepts(api):
    """What Swagger UI pre-fills for "Try it out" must pass validation, not teach a wrong format."""
    spec = await _spec(api)
    schemas = spec["components"]["schemas"]
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for operations in spec["paths"].values()
        for op in operations.values()
        if "$ref" in op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    }
    assert {"CampaignCreate", "TaskCreate", "SubmissionIn", "CheckinIn", "ReviewIn"} <= bodies
    models = {
        **vars(schemas_module),
        **vars(task_schemas),
        **vars(media_schemas),
        **vars(review_schemas),
        **vars(question_schemas),
        **vars(quiz_schemas),
        **vars(account_schemas),
        **vars(sharing_schemas),
        **vars(reach_schemas),
        **vars(calendar_schemas),
        **vars(message_schemas),
        **vars(notice_schemas),
        **vars(hour_request_schemas),
    }
    for name in sorted(bodies):
        example = {field: prop["example"] for field, prop in schemas[name]["properties"].items()}
        parse_model(models[name], example)
