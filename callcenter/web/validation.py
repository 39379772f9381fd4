"""Requests against their OpenAPI description: what the app was given to describe its
routes (``callcenter.web.openapi.describe``) is what passes.

``@require_roles`` calls ``check_request`` after the role check, so every described ``/api``
route refuses, with a 400 naming the field, a query or path parameter that does not parse
or is out of range, and a JSON body of the wrong shape: a number where a string is
documented, ``true`` where an integer is (``True`` is an ``int`` to Python), a value not in
the enum. Handlers then read fields already known to have their documented type.

Only the subset of JSON Schema that ``callcenter.web.openapi`` writes is understood: type,
enum, anyOf, minimum/maximum, minLength/maxLength, pattern, format date (query only),
properties, required, additionalProperties and items.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from aiohttp import web

from callcenter.core.errors import ApiError
from callcenter.web.jsonbody import strict_json
from callcenter.web.openapi import Operation, Param, Schema, operations_of

_INTEGER = re.compile(r"-?[0-9]{1,4000}")  # int() refuses longer
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_TYPE_WORDS = {
    "string": ("must be a string", "必须是字符串"),
    "integer": ("must be a whole number", "必须是整数"),
    "number": ("must be a number", "必须是数字"),
    "boolean": ("must be true or false", "必须是 true 或 false"),
    "object": ("must be an object", "必须是对象"),
    "array": ("must be a list", "必须是列表"),
    "null": ("must be null", "必须是 null"),
}


CHECKED_BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("checked_body", dict)


class InvalidInput(ValueError):
    """One field and what is wrong with it, in English and Chinese."""

    def __init__(self, field: str, en: str, zh: str) -> None:
        self.en = f"{field}: {en}" if field else en
        self.zh = f"{field}: {zh}" if field else zh
        super().__init__(self.en)

    def error(self) -> ApiError:
        return ApiError(400, "invalid_input", self.zh, self.en)


# --- JSON values --------------------------------------------------------------------------


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":  # JSON Schema: 5.0 is an integer too
        whole = isinstance(value, float) and value.is_integer()
        return whole or (isinstance(value, int) and not isinstance(value, bool))
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    classes = {"string": str, "boolean": bool, "object": dict, "array": list}
    return value is None if kind == "null" else isinstance(value, classes[kind])


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # 1 is not True, 1.0 is not "1"


def checked(value: Any, schema: Schema, field: str) -> Any:
    """``value`` if ``schema`` admits it (an integer written 5.0 becomes 5), else
    ``InvalidInput`` naming the first part of it that ``schema`` refuses."""
    if "anyOf" in schema:
        first: InvalidInput | None = None
        for branch in schema["anyOf"]:
            try:
                return checked(value, branch, field)
            except InvalidInput as exc:
                first = first or exc
        assert first is not None
        raise first
    kind = schema.get("type")
    if kind is not None and not _is_type(value, kind):
        raise InvalidInput(field, *_TYPE_WORDS[kind])
    if kind == "integer":
        value = int(value)
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        words = ", ".join(str(e) for e in schema["enum"])
        raise InvalidInput(field, f"must be one of {words}", f"必须是 {words} 之一")
    if isinstance(value, str):
        _check_text(value, schema, field)
    elif _is_type(value, "number"):
        _check_range(value, schema, field)
    elif isinstance(value, dict):
        return _checked_object(value, schema, field)
    elif isinstance(value, list) and "items" in schema:
        return [checked(item, schema["items"], f"{field}[{i}]") for i, item in enumerate(value)]
    return value


def _check_text(value: str, schema: Schema, field: str) -> None:
    if len(value) < schema.get("minLength", 0):
        n = schema["minLength"]
        raise InvalidInput(field, f"must be at least {n} characters", f"至少 {n} 个字符")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        n = schema["maxLength"]
        raise InvalidInput(field, f"must be at most {n} characters", f"最多 {n} 个字符")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        form = schema.get("description") or f"text matching {schema['pattern']}"
        raise InvalidInput(field, f"must be {form}", f"格式不对（{form}）")


def _check_range(value: float, schema: Schema, field: str) -> None:
    if schema.get("type") == "number" and isinstance(value, int):
        try:
            float(value)  # a JSON integer may have hundreds of digits
        except OverflowError:
            raise InvalidInput(field, "is too large a number", "数字太大") from None
    if "minimum" in schema and value < schema["minimum"]:
        n = schema["minimum"]
        raise InvalidInput(field, f"must be at least {n}", f"不能小于 {n}")
    if "maximum" in schema and value > schema["maximum"]:
        n = schema["maximum"]
        raise InvalidInput(field, f"must be at most {n}", f"不能大于 {n}")


def _checked_object(value: dict[str, Any], schema: Schema, field: str) -> dict[str, Any]:
    prefix = f"{field}." if field else ""
    for name in schema.get("required", ()):
        if name not in value:
            raise InvalidInput(prefix + name, "is required", "必须填写")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    out = {}
    for name, item in value.items():
        if name in properties:
            item = checked(item, properties[name], prefix + name)
        elif extra is False:
            known = ", ".join(sorted(properties))
            raise InvalidInput(prefix + name, f"is not a known field ({known})", "不是已知字段")
        elif isinstance(extra, dict):
            item = checked(item, extra, prefix + name)
        out[name] = item
    return out


# --- query and path parameters ------------------------------------------------------------


def parse_text(raw: str, schema: Schema, name: str) -> Any:
    """A query or path parameter as the type its schema documents, checked like a JSON value."""
    kind = schema.get("type")
    value: Any = raw
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):  # ASCII only: "²" is a digit to str.isdigit()
            raise InvalidInput(name, f"must be a whole number, got {raw[:40]!r}", "必须是整数")
        value = int(raw)
    elif kind == "number":
        value = float(raw) if _NUMBER.fullmatch(raw) else math.nan
        if not math.isfinite(value):  # "nan", "inf" and 1e999 are no time or count
            raise InvalidInput(name, f"must be a number, got {raw[:40]!r}", "必须是数字")
    elif schema.get("format") == "date":
        try:  # RFC 3339 full-date; Python alone would take "20261201" and "2026-W48-5"
            if not _DATE.fullmatch(raw):
                raise ValueError(raw)
            date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(
                name, f"must be a date YYYY-MM-DD, got {raw[:40]!r}", "必须是日期 YYYY-MM-DD"
            ) from None
    return checked(value, schema, name)


def _parameter(request: web.Request, param: Param) -> Any:
    source = request.match_info if param.where == "path" else request.query
    if param.repeat:
        given = request.query.getall(param.name, [])
        return [parse_text(raw, param.schema, param.name) for raw in given]
    if param.where == "query" and len(request.query.getall(param.name, [])) > 1:
        raise InvalidInput(param.name, "must be given once", "只能给一次")
    raw = source.get(param.name)
    if raw is None:
        if param.required:
            raise InvalidInput(param.name, "is required", "必须填写")
        return param.schema.get("default")
    return parse_text(raw, param.schema, param.name)


# --- requests -----------------------------------------------------------------------------


def operation_of(request: web.Request) -> Operation | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method  # add_get serves HEAD too
    return operations_of(request.app).get((method, resource.canonical))


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (strict: no NaN, no lone surrogates, not too deep), as
    ``check_request`` left it when it has checked it."""
    if CHECKED_BODY in request:
        return request[CHECKED_BODY]
    try:
        body = await request.json(loads=strict_json)
    except ValueError as exc:
        raise InvalidInput("body", f"must be JSON ({exc})", "必须是 JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("body", "must be a JSON object", "必须是 JSON 对象")
    return body


async def check_request(request: web.Request) -> None:
    """Raise ``InvalidInput`` for what the route's OpenAPI description does not admit."""
    operation = operation_of(request)
    if operation is None:
        return
    for param in operation.params:
        _parameter(request, param)
    if operation.body is not None:
        request[CHECKED_BODY] = checked(await read_object(request), operation.body, "")


def query_values(request: web.Request) -> dict[str, Any]:
    """The route's documented query parameters, parsed (absent ones: their default or None)."""
    operation = operation_of(request)
    params = operation.params if operation is not None else ()
    return {p.name: _parameter(request, p) for p in params if p.where == "query"}
