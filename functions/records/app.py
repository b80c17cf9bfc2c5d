"""Records API: the mirror's records, a page at a time, at a cost proportional to the page.

GET /records?table_name=…   → a page of a table's records, and next_cursor to continue
GET /records/{record_id}    → one record
GET /people, GET /tasks     → the same listing for the tables the `people` and `tasks` aliases name
GET /tables                 → the mirrored tables, their record counts and last sync
GET /docs                   → Swagger UI; /docs?format=json is the OpenAPI document

Routes, parameters, cost model and cursor guarantees: docs/records-api.md.

Cold start matters here (a reader waits on it), so this function imports less than the others: no
X-Ray SDK (its import alone costs about half of the powertools + boto3 + pydantic floor; Lambda's
active tracing still records each invocation), no Airtable client, and of the records service only
the query's parameters: the service and the repository load with the first request that reads the
mirror (runtime.py), the OpenAPI models with the first /docs request, the /tables models with the
first /tables request (or /docs). docs/records-api.md#cold-start lists the rest.
"""

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from pydantic import AwareDatetime

from airtable_mirror import runtime
from airtable_mirror.api import records_models
from airtable_mirror.api.errors import (
    error_response,
    register_common_error_handlers,
    register_database_error_handlers,
)
from airtable_mirror.api.openapi import DocumentedHttpResolver
from airtable_mirror.api.records_models import ErrorBody, RecordPageView, RecordView
from airtable_mirror.records_api.filters import MAX_FILTER_VALUE_LENGTH, MAX_FILTERS, filter_parameters
from airtable_mirror.records_api.query import (
    CURSOR_PATTERN,
    EXAMINE_FACTOR,
    MAX_CURSOR_LENGTH,
    MAX_LIMIT,
    MAX_SKIP,
    MAX_TABLE_REFERENCE_LENGTH,
    RECORD_ID_PATTERN,
    TABLE_REFERENCE_PATTERN,
    RecordQuery,
    SortBy,
    SortOrder,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from airtable_mirror.repository.table_schemas import StoredTable

OPENAPI_INFO: dict[str, Any] = {
    "title": "airtable-mirror records API",
    "version": "1.0.0",
    "description": (
        "Read the mirrored Airtable base: records by table, a page at a time, in created or "
        "last-change order, with signed cursors. Every page costs read units in proportion to its "
        "size, never to the table's size or the page's depth. See docs/records-api.md."
    ),
}

logger = Logger()
metrics = Metrics()
app = DocumentedHttpResolver()
register_common_error_handlers(app)
register_database_error_handlers(app)
app.serve_docs("/docs", **OPENAPI_INFO)


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


DATABASE_UNAVAILABLE = _error("The mirror's database did not answer")
LISTING_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "A page of records"},
    400: _error("A parameter is invalid (the message and `parameter` name it)"),
    404: _error("No mirrored table answers to the name, id or alias"),
    503: DATABASE_UNAVAILABLE,
}

TableName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_TABLE_REFERENCE_LENGTH,
        pattern=TABLE_REFERENCE_PATTERN,
        description="a table name, tbl… id or alias (people, tasks)",
        examples=["tasks", "People"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"records per page, 1..{MAX_LIMIT}")]
Skip = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_SKIP,
        description=(
            f"records to pass over first, at most {MAX_SKIP}. It reads every index entry it passes, "
            "so prefer cursor; it cannot be combined with cursor, filters or a created-time range"
        ),
    ),
]
SortByParameter = Annotated[
    SortBy,
    Query(
        description=(
            "created_at: Airtable's createdTime; changed_at: when the mirror saw the content change. "
            "Only these two orders have an index: any other would read the whole table"
        )
    ),
]
SortOrderParameter = Annotated[SortOrder, Query(description="asc or desc")]
CursorParameter = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page, sent with the same other parameters",
    ),
]
CreatedAfter = Annotated[
    AwareDatetime | None, Query(description="only records created strictly after this time (ISO 8601)")
]
CreatedBefore = Annotated[
    AwareDatetime | None, Query(description="only records created strictly before this time (ISO 8601)")
]
FILTER_PARAMETER: dict[str, Any] = {
    "name": "filter",
    "in": "query",
    "style": "deepObject",
    "explode": True,
    "required": False,
    "description": (
        "equality filters on fields, written filter[<field name>]=<value> and combined with AND: text "
        "equal, numbers by value, checkbox true/false, one element of a list (multiple selects, "
        "links), the id, name or email of an object; an empty value matches empty cells. A filtered "
        f"page examines at most {EXAMINE_FACTOR} x limit records, so it can hold fewer than limit "
        "records and still have a next_cursor"
    ),
    "schema": {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": MAX_FILTER_VALUE_LENGTH},
        "maxProperties": MAX_FILTERS,
    },
}
ALIASES = ("people", "tasks")  # each has its own listing route, GET /<alias>


def _filters() -> dict[str, str]:
    return filter_parameters(app.current_event.get("rawQueryString") or "")


def _page(table: "StoredTable", query: RecordQuery) -> RecordPageView:
    listing = runtime.records_query_service().list_records(table, query)
    metrics.add_metric(name="RecordsServed", unit="Count", value=len(listing.records))
    return RecordPageView.from_listing(listing, query)


@app.get("/records", summary="List a table's records", tags=["records"], responses=LISTING_RESPONSES)
def list_records(
    table_name: TableName,
    limit: Limit = MAX_LIMIT,
    skip: Skip = 0,
    sort_by: SortByParameter = "created_at",
    sort_order: SortOrderParameter = "asc",
    cursor: CursorParameter = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
) -> RecordPageView:
    table = runtime.records_query_service().resolve_table(table_name)
    query = RecordQuery(
        limit=limit,
        skip=skip,
        sort_by=sort_by,
        sort_order=sort_order,
        cursor=cursor,
        filters=_filters(),
        created_after=created_after,
        created_before=created_before,
    )
    return _page(table, query)


def _alias_listing(alias: str) -> Callable[..., RecordPageView]:
    """GET /<alias>: list_records for the table the alias names, with the same parameters but
    table_name."""

    def list_alias(**parameters: Any) -> RecordPageView:
        table = runtime.records_query_service().resolve_alias(alias)
        return _page(table, RecordQuery(**parameters, filters=_filters()))

    # powertools validates and documents the parameters inspect.signature reports, so the alias
    # routes declare list_records' own (typing does not know __signature__, hence Any)
    declared = inspect.signature(list_records)
    handler: Any = list_alias
    handler.__signature__ = declared.replace(
        parameters=[p for p in declared.parameters.values() if p.name != "table_name"]
    )
    handler.__name__ = handler.__qualname__ = f"list_{alias}"  # operationId list_<alias>_<alias>_get
    return list_alias


for alias in ALIASES:
    app.get(
        f"/{alias}",
        summary=f"List the {alias} table's records",
        tags=["records"],
        responses=LISTING_RESPONSES,
    )(_alias_listing(alias))
for listing_path in ("/records", *(f"/{alias}" for alias in ALIASES)):
    app.document_parameter(listing_path, "get", FILTER_PARAMETER)


@app.get(
    "/records/<record_id>",
    summary="Get one record",
    tags=["records"],
    responses={
        200: {"description": "The record"},
        400: _error("The record id is malformed"),
        404: _error("The mirror has no such record, or it was deleted"),
        503: DATABASE_UNAVAILABLE,
    },
)
def get_record(
    record_id: Annotated[str, Path(pattern=RECORD_ID_PATTERN, description="rec followed by 14 characters")],
) -> RecordView:
    return RecordView.from_named(runtime.records_query_service().get_record(record_id))


@app.get(
    "/tables",
    summary="List the mirrored tables",
    tags=["tables"],
    responses={
        200: {"description": "The mirrored tables, their record counts and last sync"},
        503: DATABASE_UNAVAILABLE,
    },
)
def list_tables() -> "records_models.TablesView":  # a name records_models loads on first use
    summaries = runtime.records_query_service().list_tables()
    views = [records_models.TableView.from_summary(summary) for summary in summaries]
    return records_models.TablesView(tables=views)


@app.not_found
def route_not_found(_: Exception) -> Response[str]:
    event = app.current_event
    return error_response(404, "NOT_FOUND", f"no route {event.http_method} {event.path}")


def openapi_document() -> str:
    """The OpenAPI document /docs shows; docs/openapi.json is a copy (`make openapi` refreshes it)."""
    return app.get_openapi_json_schema(**OPENAPI_INFO)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    return app.resolve(event, context)
