"""The OpenAPI description cannot drift from the routes the service serves."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from cti_fixtures import new_http, serving
from service_fixtures import service_settings

from callcenter.service import Service
from callcenter.web.openapi import OPENAPI_PATH, api_routes, build_document, operations_of


def test_every_api_route_is_described_and_every_description_is_a_route(tmp_path: Path) -> None:
    service = Service(service_settings(tmp_path))
    try:
        app = service.build_web_app()
        document = build_document(app)
    finally:
        service.engine.dispose()
    served = {(method, path) for method, path, _roles in api_routes(app)}
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert served == listed
    undescribed = sorted(
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("x-undescribed")
    )
    assert undescribed == [], "describe these in their feature's api_doc.py"
    stale = sorted(f"{m} {p}" for m, p in set(operations_of(app)) - served)
    assert stale == [], "these descriptions name routes the service no longer has"
    # the roles in the document are the handlers' own
    for method, path, roles in api_routes(app):
        operation = document["paths"][path][method.lower()]
        assert operation.get("x-roles", []) == list(roles), (method, path)
        assert bool(operation["security"]) == bool(roles), (method, path)
        if roles and method != "GET":  # a session with its CSRF token, or an API token
            assert operation["security"] == [{"session": [], "csrf": []}, {"bearer": []}]


def test_the_document_is_valid_openapi_and_path_parameters_match(tmp_path: Path) -> None:
    service = Service(service_settings(tmp_path))
    try:
        document = build_document(service.build_web_app())
    finally:
        service.engine.dispose()
    assert document["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in document["paths"].values())
    for path, ops in document["paths"].items():
        names = {part.strip("{}") for part in path.split("/") if part.startswith("{")}
        for operation in ops.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


async def test_the_document_is_served_without_signing_in(tmp_path: Path) -> None:
    service = Service(service_settings(tmp_path))
    try:
        async with serving(service.build_web_app()) as base, new_http() as http:
            async with http.get(base + OPENAPI_PATH) as resp:
                assert resp.status == 200
                assert resp.content_type == "application/json"
                document = await resp.json()
            async with http.get(f"{base}/api/calls") as resp:
                assert resp.status == 401  # the API itself still wants a session
    finally:
        service.engine.dispose()
    assert "/api/calls" in document["paths"]
    assert document["components"]["securitySchemes"]["session"]["in"] == "cookie"
