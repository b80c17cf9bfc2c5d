"""An HTTP API resolver whose OpenAPI document says what the API really answers, and that serves it
with Swagger UI without making every cold start pay for it.

- powertools documents every validated route with a 422 `HTTPValidationError`; this API answers bad
  input with 400 and the shared error body (api/errors.py), so the 422 entries are dropped and each
  route lists its 400 instead;
- parameters a handler reads from the raw query string itself (the `filter[<field>]` family, which no
  fixed parameter name can declare) are added with `document_parameter`;
- `serve_docs` is powertools' `enable_swagger` (the same Swagger UI assets and page), except that the
  OpenAPI models (pydantic models of the whole OpenAPI specification, about as slow to import as
  boto3) load on the first request for the docs instead of at import.
"""

import json
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI, Operation

_POWERTOOLS_VALIDATION_STATUS = 422
_OPERATIONS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# ValidationError last: the others refer to it
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ResponseValidationError", "ValidationError")


class DocumentedHttpResolver(APIGatewayHttpResolver):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enable_validation=True, **kwargs)
        self._extra_parameters: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def document_parameter(self, path: str, method: str, parameter: dict[str, Any]) -> None:
        """Add `parameter` (an OpenAPI Parameter Object) to the document of `method path`."""
        self._extra_parameters.setdefault((path, method.lower()), []).append(parameter)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> "OpenAPI":
        from aws_lambda_powertools.event_handler.openapi.models import Parameter  # noqa: PLC0415 - slow

        schema = super().get_openapi_schema(*args, **kwargs)
        for path, item in (schema.paths or {}).items():
            for method in _OPERATIONS:
                operation: Operation | None = getattr(item, method, None)
                if operation is None:
                    continue
                if operation.responses:
                    operation.responses.pop(_POWERTOOLS_VALIDATION_STATUS, None)
                extra = self._extra_parameters.get((path, method), [])
                if extra:
                    documented = list(operation.parameters or [])
                    documented.extend(Parameter.model_validate(parameter) for parameter in extra)
                    operation.parameters = documented
        components = schema.components.schemas if schema.components else None
        for name in _VALIDATION_SCHEMAS:
            if components and name in components and not _refers_to(schema, name):
                del components[name]
        return schema

    def serve_docs(self, path: str, **openapi_info: Any) -> None:
        """Swagger UI at `path`, and the OpenAPI document it shows at `path?format=json`."""

        @self.get(path, include_in_schema=False)
        def docs() -> Response[str]:
            # The slow imports happen here, on the first request for the docs
            from aws_lambda_powertools.event_handler.openapi import swagger_ui  # noqa: PLC0415
            from aws_lambda_powertools.event_handler.openapi.models import Server  # noqa: PLC0415

            servers = [Server(url=self._get_base_path() or "/")]
            document = self.get_openapi_json_schema(servers=servers, **openapi_info)
            query = self.current_event.query_string_parameters or {}
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


def _refers_to(schema: "OpenAPI", component: str) -> bool:
    document = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return f'"#/components/schemas/{component}"' in json.dumps(document)
