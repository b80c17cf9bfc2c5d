"""The OpenAPI document as the API answers (api/openapi.py), and the docs page that shows it. Loaded
with the first request for the document or the docs, with powertools' OpenAPI models."""

import json
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.models import OpenAPI, Parameter, Server

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import Operation

_POWERTOOLS_VALIDATION_STATUS = 422
_OPERATIONS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# ValidationError last: the others refer to it
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ResponseValidationError", "ValidationError")


def as_answered(schema: OpenAPI, extra_parameters: dict[tuple[str, str], list[dict[str, Any]]]) -> OpenAPI:
    """powertools' document without its 422s (and their schemas, once nothing refers to them), with
    the parameters `document_parameter` added."""
    for path, item in (schema.paths or {}).items():
        for method in _OPERATIONS:
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            if operation.responses:
                operation.responses.pop(_POWERTOOLS_VALIDATION_STATUS, None)
            extra = extra_parameters.get((path, method), [])
            if extra:
                documented = list(operation.parameters or [])
                documented.extend(Parameter.model_validate(parameter) for parameter in extra)
                operation.parameters = documented
    components = schema.components.schemas if schema.components else None
    for name in _VALIDATION_SCHEMAS:
        if components and name in components and not _refers_to(schema, name):
            del components[name]
    return schema


def docs_page(resolver: APIGatewayHttpResolver, openapi_info: dict[str, Any]) -> Response[str]:
    """Swagger UI, or the document itself with `?format=json`, for the current request."""
    servers = [Server(url=resolver._get_base_path() or "/")]
    document = resolver.get_openapi_json_schema(servers=servers, **openapi_info)
    query = resolver.current_event.query_string_parameters or {}
    if query.get("format") == "json":
        return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, document)
    assets = Path(swagger_ui.__file__).parent
    page = swagger_ui.generate_swagger_html(
        # Inside a <script>, "</" would end it early
        document.replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(HTTPStatus.OK, content_types.TEXT_HTML, page)


def _refers_to(schema: OpenAPI, component: str) -> bool:
    document = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return f'"#/components/schemas/{component}"' in json.dumps(document)
