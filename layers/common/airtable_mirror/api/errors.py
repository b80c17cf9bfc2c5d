"""Every error an HTTP handler can meet, mapped to one status and one body shape, in one place.

Body: ``{"error": {"code": "SYNC_RUN_ACTIVE", "message": "...", ...extra}}``. Nothing here echoes a
token: Airtable's messages never carry it, and the client redacts anything that might.

The Airtable client's errors are mapped in api/airtable_errors.py, which only `register_error_handlers`
loads: the records function never calls Airtable and registers `register_common_error_handlers`, so
its cold start neither loads the client nor compiles that mapping.
"""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from botocore.exceptions import BotoCoreError, ClientError

from airtable_mirror.records_api.errors import InvalidQueryError, RecordNotFoundError, TableNotFoundError
from airtable_mirror.repository.errors import InvalidCursorError, InvalidIdentifierError, UnprocessedKeysError
from airtable_mirror.settings import ConfigurationError

logger = Logger(child=True)


class ApiError(Exception):
    """An error with its HTTP status and code, raised by handlers and the services they call."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": {"code": code, "message": message, **extra}}),
    )


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for problem in error.errors():
        location = ".".join(
            str(part) for part in problem.get("loc", ()) if part not in {"query", "path", "body"}
        )
        problems.append(f"{location or 'request'}: {problem.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


def _api_error(error: ApiError) -> Response[str]:
    return error_response(error.status, error.code, error.message, **error.extra)


def _invalid_request(error: RequestValidationError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", _validation_message(error))


def _invalid_identifier(error: Exception) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", str(error))


def _configuration(error: ConfigurationError) -> Response[str]:
    logger.error("configuration error", reason=str(error))
    return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "SERVICE_MISCONFIGURED", str(error))


def _invalid_query(error: InvalidQueryError) -> Response[str]:
    return error_response(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", str(error), parameter=error.parameter)


def _table_not_found(error: TableNotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "TABLE_NOT_FOUND", str(error))


def _record_not_found(error: RecordNotFoundError) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "RECORD_NOT_FOUND", str(error))


def _database_unavailable(error: Exception) -> Response[str]:
    logger.exception("DynamoDB did not answer", error_type=type(error).__name__)
    return error_response(
        HTTPStatus.SERVICE_UNAVAILABLE,
        "DATABASE_UNAVAILABLE",
        "the mirror's database did not answer; try again",
    )


ErrorHandler = Callable[[Any], Response[str]]
ErrorMapping = list[tuple[type[Exception] | list[type[Exception]], ErrorHandler]]

_COMMON_HANDLERS: ErrorMapping = [
    (ApiError, _api_error),
    (RequestValidationError, _invalid_request),
    ([InvalidIdentifierError, InvalidCursorError], _invalid_identifier),
    (ConfigurationError, _configuration),
    (InvalidQueryError, _invalid_query),
    (TableNotFoundError, _table_not_found),
    (RecordNotFoundError, _record_not_found),
]


def _register(app: APIGatewayHttpResolver, mapping: ErrorMapping) -> None:
    for exception_classes, handler in mapping:
        app.exception_handler(exception_classes)(handler)


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Map domain errors, the Airtable client's included, to statuses on ``app`` (powertools picks the
    most specific class)."""
    from airtable_mirror.api.airtable_errors import airtable_handlers  # noqa: PLC0415 - see above

    _register(app, _COMMON_HANDLERS + airtable_handlers())


def register_common_error_handlers(app: APIGatewayHttpResolver) -> None:
    """`register_error_handlers` without the Airtable client's errors, for functions that never call
    Airtable."""
    _register(app, _COMMON_HANDLERS)


def register_database_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Answer 503 when DynamoDB fails past botocore's retries (read-only APIs: retrying is safe)."""
    app.exception_handler([ClientError, BotoCoreError, UnprocessedKeysError])(_database_unavailable)
