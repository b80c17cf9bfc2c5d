"""docs/openapi.json is the document the code generates (and /docs serves): `make openapi` rewrites it."""

import json
from pathlib import Path

from functions.records.app import openapi_document

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_the_committed_openapi_document_is_the_generated_one() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document() + "\n", (
        "docs/openapi.json is out of date: run `make openapi` and commit it"
    )


def test_the_document_declares_every_route_its_errors_and_no_unused_validation_schemas() -> None:
    document = json.loads(openapi_document())

    operations = {
        f"{method.upper()} {path}": op
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    assert set(operations) == {
        "GET /records",
        "GET /records/{record_id}",
        "GET /people",
        "GET /tasks",
        "GET /tables",
    }
    for label, operation in operations.items():
        assert "422" not in operation["responses"], label
        assert operation["responses"]["503"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }
    for label in ("GET /records", "GET /people", "GET /tasks"):
        parameters = {p["name"]: p for p in operations[label]["parameters"]}
        assert {
            "limit",
            "skip",
            "sort_by",
            "sort_order",
            "cursor",
            "created_after",
            "created_before",
            "filter",
        } <= set(parameters)
        assert parameters["filter"]["style"] == "deepObject"
        assert parameters["sort_by"]["schema"]["enum"] == ["created_at", "changed_at"]
        assert {"400", "404"} <= set(operations[label]["responses"])
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(
        document["components"]["schemas"]
    )
