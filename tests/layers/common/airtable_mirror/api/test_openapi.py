"""DocumentedHttpResolver: the document drops powertools' 422s, adds hand-read parameters, and the
docs route serves Swagger UI and the document."""

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from airtable_mirror.api.openapi import DocumentedHttpResolver

NO_CONTEXT: Any = None


class Answer(BaseModel):
    size: int


def resolver() -> DocumentedHttpResolver:
    app = DocumentedHttpResolver()

    @app.get("/things")
    def things(size: Annotated[int, Query(ge=1)] = 1) -> Answer:
        return Answer(size=size)

    app.document_parameter("/things", "GET", {"name": "tag", "in": "query", "schema": {"type": "string"}})
    app.serve_docs("/docs", title="Things", version="2.0")
    return app


def event(path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "queryStringParameters": query,
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
        "isBase64Encoded": False,
    }


def test_the_document_has_no_422_and_lists_the_extra_parameter() -> None:
    document = json.loads(resolver().get_openapi_json_schema(title="Things", version="2.0"))

    operation = document["paths"]["/things"]["get"]
    assert set(operation["responses"]) == {"200"}
    assert [p["name"] for p in operation["parameters"]] == ["size", "tag"]
    assert "HTTPValidationError" not in document.get("components", {}).get("schemas", {})
    assert "ValidationError" not in document.get("components", {}).get("schemas", {})


def test_the_docs_route_serves_the_document_and_swagger_ui() -> None:
    app = resolver()

    document = app.resolve(event("/docs", {"format": "json"}), NO_CONTEXT)
    page = app.resolve(event("/docs"), NO_CONTEXT)

    assert document["statusCode"] == 200
    assert json.loads(document["body"])["info"] == {"title": "Things", "version": "2.0"}
    assert page["statusCode"] == 200 and "SwaggerUIBundle" in page["body"]
    assert "/docs" not in json.loads(document["body"])["paths"]
