"""Hypothesis strategies for signalling frames, derived from each registered message model's JSON schema
(`model.model_json_schema()`), plus broken variants and junk."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from shopcall.signalling.registry import MessageSpec

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False),
                         st.text(max_size=20))
JUNK_VALUES = st.recursive(JSON_SCALARS, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)


def from_json_schema(schema: dict[str, Any], defs: dict[str, Any],
                     ids: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Values matching the subset of JSON Schema pydantic emits. String fields also draw from `ids`
    (room, participant, subscription ids the client really has), so valid messages reach the handlers."""
    if "$ref" in schema:
        return from_json_schema(defs[schema["$ref"].rsplit("/", 1)[1]], defs, ids)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of(*(from_json_schema(s, defs, ids) for s in schema[key]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*(from_json_schema({**schema, "type": k}, defs, ids) for k in kind))
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 64)
        text = st.text(min_size=lo, max_size=max(lo, min(hi, 64)))
        return st.one_of(text, ids.filter(lambda s: lo <= len(s) <= hi)) if "format" not in schema else text
    if kind == "integer":
        return st.integers(schema.get("minimum", schema.get("exclusiveMinimum", -(2**31))),
                           schema.get("maximum", schema.get("exclusiveMaximum", 2**31)))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        item = from_json_schema(schema.get("items", {}), defs, ids)
        lo = schema.get("minItems", 0)
        return st.lists(item, min_size=lo, max_size=max(lo, min(schema.get("maxItems", 5), 5)))
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fixed = {k: from_json_schema(v, defs, ids) for k, v in props.items() if k in required}
        optional = {k: from_json_schema(v, defs, ids) for k, v in props.items() if k not in required}
        if not props and schema.get("additionalProperties", True) is not False:
            return st.dictionaries(st.text(max_size=8), JUNK_VALUES, max_size=4)
        return st.fixed_dictionaries(fixed, optional=optional)
    return JUNK_VALUES  # {} (any value)


def valid_messages(spec: MessageSpec, ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    schema = spec.model.model_json_schema()
    return from_json_schema(schema, schema.get("$defs", {}), ids)


@st.composite
def broken(draw: st.DrawFn, message: dict[str, Any]) -> dict[str, Any]:
    """A valid message made invalid: a field dropped, given a wrong type, huge or deeply nested; or an extra field."""
    m = dict(message)
    fields = [k for k in m if k != "type"]
    how = draw(st.sampled_from(["drop", "wrong", "huge", "deep", "extra"]))
    if how == "extra" or not fields:
        m[draw(st.text(min_size=1, max_size=8))] = draw(JUNK_VALUES)
        return m
    key = draw(st.sampled_from(fields))
    if how == "drop":
        del m[key]
    elif how == "wrong":
        m[key] = draw(JUNK_VALUES)
    elif how == "huge":
        m[key] = "x" * draw(st.sampled_from([10_000, 100_000]))
    else:
        v: Any = "deep"
        for _ in range(draw(st.integers(10, 40))):
            v = [v] if draw(st.booleans()) else {"k": v}
        m[key] = v
    return m


def text(value: Any) -> tuple[str, str | bytes]:
    return ("text", json.dumps(value))


def junk_frames() -> st.SearchStrategy[tuple[str, str | bytes]]:
    deep = st.integers(20, 3000).map(lambda n: ("text", "[" * n + "]" * n))
    return st.one_of(
        st.binary(max_size=64).map(lambda b: ("bytes", b)),
        st.text(max_size=64).map(lambda s: ("text", s)),  # mostly not JSON
        JUNK_VALUES.map(text),  # JSON, but not an object
        st.dictionaries(st.text(max_size=10), JUNK_VALUES, max_size=4).map(text),  # no or unknown type
        st.text(max_size=20).map(lambda t: text({"type": t, "id": "j"})),
        deep,
        st.just(("text", json.dumps({"type": "chat", "text": "x" * 300_000}))),  # over the 256 KB frame cap
    )


def frames(specs: list[MessageSpec], ids: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str | bytes]]:
    """One frame: a valid message of any type, a broken one, or junk."""
    valid = st.one_of(*(valid_messages(s, ids) for s in specs))
    return st.one_of(valid.map(text), valid.flatmap(broken).map(text), junk_frames())
