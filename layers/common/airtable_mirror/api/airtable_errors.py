"""The Airtable client's errors as HTTP answers, for the functions that call Airtable (api/errors.py's
`register_error_handlers` loads this module; the records function, which never calls Airtable, does
not)."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from airtable_mirror.airtable import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableUnavailable,
    BillingLimitExceeded,
    RateLimitedTooOften,
)
from airtable_mirror.api.errors import ErrorMapping, error_response, logger


def _airtable_not_found(error: AirtableNotFound) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "TABLE_NOT_FOUND", error.message)


def _airtable_auth(error: AirtableAuthError) -> Response[str]:
    logger.error("Airtable rejected the token", status=error.status, error_type=error.error_type)
    return error_response(
        HTTPStatus.BAD_GATEWAY,
        "AIRTABLE_AUTH_FAILED",
        f"Airtable rejected the configured token (HTTP {error.status}): {error.message}",
    )


def _billing(error: BillingLimitExceeded) -> Response[str]:
    return error_response(HTTPStatus.BAD_GATEWAY, "AIRTABLE_BILLING_LIMIT", error.message)


def _unavailable(error: AirtableError) -> Response[str]:
    return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "AIRTABLE_UNAVAILABLE", error.message)


def _airtable(error: AirtableError) -> Response[str]:
    return error_response(HTTPStatus.BAD_GATEWAY, "AIRTABLE_ERROR", error.message)


def airtable_handlers() -> ErrorMapping:
    """What `register_error_handlers` adds to the common mapping."""
    return [
        (AirtableNotFound, _airtable_not_found),
        (AirtableAuthError, _airtable_auth),
        (BillingLimitExceeded, _billing),
        ([AirtableUnavailable, RateLimitedTooOften], _unavailable),
        (AirtableError, _airtable),
    ]
