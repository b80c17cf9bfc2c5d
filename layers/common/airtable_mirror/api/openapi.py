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

What only the document and the docs page need (api/openapi_docs.py) loads with them: a cold start
that serves data neither imports nor compiles it.
"""

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI


class DocumentedHttpResolver(APIGatewayHttpResolver):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enable_validation=True, **kwargs)
        self._extra_parameters: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def document_parameter(self, path: str, method: str, parameter: dict[str, Any]) -> None:
        """Add `parameter` (an OpenAPI Parameter Object) to the document of `method path`."""
        self._extra_parameters.setdefault((path, method.lower()), []).append(parameter)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> "OpenAPI":
        from airtable_mirror.api.openapi_docs import as_answered  # noqa: PLC0415 - docs only

        return as_answered(super().get_openapi_schema(*args, **kwargs), self._extra_parameters)

    def serve_docs(self, path: str, **openapi_info: Any) -> None:
        """Swagger UI at `path`, and the OpenAPI document it shows at `path?format=json`."""

        @self.get(path, include_in_schema=False)
        def docs() -> Response[str]:
            from airtable_mirror.api.openapi_docs import docs_page  # noqa: PLC0415 - docs only

            return docs_page(self, openapi_info)
