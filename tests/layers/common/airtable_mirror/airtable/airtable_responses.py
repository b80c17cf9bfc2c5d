"""Response bodies as Airtable documents them (shared/reference/airtable-api.md, sections 2 to 6)."""

from typing import Any

RATE_LIMITED = {
    "error": {"type": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}
}
BILLING_LIMIT = {
    "error": {
        "type": "PUBLIC_API_BILLING_LIMIT_EXCEEDED",
        "message": "API billing plan limit exceeded. Please upgrade your plan.",
    }
}
ITERATOR_EXPIRED = {"error": {"type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}}
AUTHENTICATION_REQUIRED = {"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}}
MODEL_NOT_FOUND = {
    "error": {
        "type": "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
        "message": "Invalid permissions, or the requested model was not found.",
    }
}
NOT_PERMITTED = {
    "error": {"type": "INVALID_PERMISSIONS", "message": "You are not permitted to perform this operation"}
}
NOT_FOUND_STRING = {"error": "NOT_FOUND"}
NOT_FOUND_OBJECT = {"error": {"type": "NOT_FOUND"}}
RECORD_NOT_FOUND = {"error": {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}}
INVALID_REQUEST = {
    "error": {
        "type": "INVALID_REQUEST_UNKNOWN",
        "message": "Invalid request: parameter validation failed. Check your request data.",
    }
}
INVALID_FORMULA = {"error": {"type": "INVALID_FILTER_BY_FORMULA", "message": "Unknown field names: x"}}
RETRIABLE_ERROR = {
    "error": {
        "type": "RETRIABLE_ERROR",
        "message": (
            "Server encountered an error while processing your request, and it is safe to retry the request"
        ),
    }
}

TABLE_ID = "tbltp8DGLhqbUmjK1"
OTHER_TABLE_ID = "tblOtHeRtAbLe0001"

BASE_SCHEMA: dict[str, Any] = {
    "tables": [
        {
            "id": TABLE_ID,
            "name": "Apartments",
            "description": "I was a description",
            "primaryFieldId": "fld1VnoyuotSTyxW1",
            "fields": [
                {"id": "fld1VnoyuotSTyxW1", "name": "Name", "type": "singleLineText"},
                {
                    "id": "fldoaIqdn5szURHpw",
                    "name": "District",
                    "type": "multipleRecordLinks",
                    "description": "Where it is",
                    "options": {
                        "linkedTableId": OTHER_TABLE_ID,
                        "inverseLinkFieldId": "fldWnCJlo2z6ttT8Y",
                        "isReversed": False,
                        "prefersSingleRecordLink": True,
                    },
                },
                {"id": "fldNeWtYpE0000001", "name": "Vibe", "type": "someFieldTypeFromTheFuture"},
            ],
            "views": [{"id": "viwQpsuEDqHFqegkp", "name": "Grid view", "type": "grid", "somethingNew": 1}],
            "keyAirtableAddsLater": {"anything": True},
        },
        {
            "id": OTHER_TABLE_ID,
            "name": "Districts",
            "primaryFieldId": "fldWnCJlo2z6ttT8Y",
            "fields": [{"id": "fldWnCJlo2z6ttT8Y", "name": "Name", "type": "singleLineText"}],
            "views": [],
        },
    ]
}


def record_id(number: int) -> str:
    return f"rec{number:014d}"


def record(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": record_id(number),
        "createdTime": f"2022-09-12T21:03:{number % 60:02d}.000Z",
        "fields": fields or {"fld1VnoyuotSTyxW1": f"Record {number}"},
    }


def page(numbers: range | list[int], offset: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"records": [record(number) for number in numbers]}
    if offset is not None:
        body["offset"] = offset
    return body
