"""Errors the emulator answers with, in Airtable's envelopes."""

from typing import Any


class AirtableApiError(Exception):
    """An error Airtable would answer with. ``type_`` None means the bare string envelope."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str | None = None,
        *,
        string_envelope: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {type_}: {message}")
        self.status = status
        self.type = type_
        self.message = message
        self.string_envelope = string_envelope
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        if self.string_envelope:
            return {"error": self.type}
        error: dict[str, Any] = {"type": self.type}
        if self.message is not None:
            error["message"] = self.message
        return {"error": error}


def unknown_field(name: str) -> AirtableApiError:
    return AirtableApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')


def invalid_value(field_name: str, detail: str) -> AirtableApiError:
    return AirtableApiError(
        422, "INVALID_VALUE_FOR_COLUMN", f'Field "{field_name}" cannot accept the provided value: {detail}'
    )


def invalid_request(
    message: str = "Invalid request: parameter validation failed. Check your request data.",
) -> AirtableApiError:
    return AirtableApiError(422, "INVALID_REQUEST_UNKNOWN", message)


def model_not_found() -> AirtableApiError:
    return AirtableApiError(
        403,
        "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
        "Invalid permissions, or the requested model was not found. Check that both your user and your "
        "token have the required permissions, and that the model names and/or ids are correct.",
    )


def record_not_found() -> AirtableApiError:
    return AirtableApiError(404, "MODEL_ID_NOT_FOUND", "Record not found")


def route_not_found() -> AirtableApiError:
    return AirtableApiError(404, "NOT_FOUND", string_envelope=True)
