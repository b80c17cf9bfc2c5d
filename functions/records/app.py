"""Records API: the mirror's records, a page at a time, at a cost proportional to the page.

GET /records?table_name=…   → a page of a table's records, and next_cursor to continue
GET /records/{record_id}    → one record
GET /people, GET /tasks     → the same listing for the tables the `people` and `tasks` aliases name
GET /tables                 → the mirrored tables, their record counts and last sync
GET /docs                   → Swagger UI; /docs?format=json is the OpenAPI document

Routes, parameters, cost model and cursor guarantees: docs/records-api.md.

Cold start matters here (a reader waits on it), so this function imports less than the others: no
X-Ray SDK (its import alone costs about half of the powertools + boto3 + pydantic floor; Lambda's
active tracing still records each invocation), and the OpenAPI models load on the first /docs request.
"""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime

from airtable_mirror import runtime
from airtable_mirror.api.errors import (
    error_response,
    register_database_error_handlers,
    register_error_handlers,
)
from airtable_mirror.api.openapi import DocumentedHttpResolver
from airtable_mirror.api.records_models import ErrorBody, RecordPageView, RecordView, TablesView, TableView
from airtable_mirror.records_api.cursor import CURSOR_PATTERN, MAX_CURSOR_LENGTH
from airtable_mirror.records_api.filters import MAX_FILTER_VALUE_LENGTH, filter_parameters
from airtable_mirror.records_api.service import (
    EXAMINE_FACTOR,
    MAX_LIMIT,
    MAX_SKIP,
    MAX_TABLE_REFERENCE_LENGTH,
    RECORD_ID_PATTERN,
    TABLE_REFERENCE_PATTERN,
    RecordQuery,
    SortBy,
    SortOrder,
)
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
register_error_handlers(app)
register_database_error_handlers(app)
app.serve_docs("/docs", **OPENAPI_INFO)


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


LISTING_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "A page of records"},
    400: _error("A parameter is invalid (the message and `parameter` name it)"),
    404: _error("No mirrored table answers to the name, id or alias"),
    503: _error("The mirror's database did not answer"),
}

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
        "maxProperties": 10,
    },
}
for listing_path in ("/records", "/people", "/tasks"):
    app.document_parameter(listing_path, "get", FILTER_PARAMETER)


def _page(
    table: StoredTable,
    *,
    limit: int,
    skip: int,
    sort_by: SortBy,
    sort_order: SortOrder,
    cursor: str | None,
    created_after: AwareDatetime | None,
    created_before: AwareDatetime | None,
) -> RecordPageView:
    query = RecordQuery(
        limit=limit,
        skip=skip,
        sort_by=sort_by,
        sort_order=sort_order,
        cursor=cursor,
        filters=filter_parameters(app.current_event.get("rawQueryString") or ""),
        created_after=created_after,
        created_before=created_before,
    )
    listing = runtime.records_query_service().list_records(table, query)
    metrics.add_metric(name="RecordsServed", unit="Count", value=len(listing.records))
    return RecordPageView.from_listing(
        listing, limit=limit, skip=skip, sort_by=sort_by, sort_order=sort_order
    )


@app.get("/records", summary="List a table's records", tags=["records"], responses=LISTING_RESPONSES)
def list_records(
    table_name: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_TABLE_REFERENCE_LENGTH,
            pattern=TABLE_REFERENCE_PATTERN,
            description="a table name, tbl… id or alias (people, tasks)",
            examples=["tasks", "People"],
        ),
    ],
    limit: Limit = MAX_LIMIT,
    skip: Skip = 0,
    sort_by: SortByParameter = "created_at",
    sort_order: SortOrderParameter = "asc",
    cursor: CursorParameter = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
) -> RecordPageView:
    return _page(
        runtime.records_query_service().resolve_table(table_name),
        limit=limit,
        skip=skip,
        sort_by=sort_by,
        sort_order=sort_order,
        cursor=cursor,
        created_after=created_after,
        created_before=created_before,
    )


@app.get("/people", summary="List the people table's records", tags=["records"], responses=LISTING_RESPONSES)
def list_people(
    limit: Limit = MAX_LIMIT,
    skip: Skip = 0,
    sort_by: SortByParameter = "created_at",
    sort_order: SortOrderParameter = "asc",
    cursor: CursorParameter = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
) -> RecordPageView:
    return _page(
        runtime.records_query_service().resolve_alias("people"),
        limit=limit,
        skip=skip,
        sort_by=sort_by,
        sort_order=sort_order,
        cursor=cursor,
        created_after=created_after,
        created_before=created_before,
    )


@app.get("/tasks", summary="List the tasks table's records", tags=["records"], responses=LISTING_RESPONSES)
def list_tasks(
    limit: Limit = MAX_LIMIT,
    skip: Skip = 0,
    sort_by: SortByParameter = "created_at",
    sort_order: SortOrderParameter = "asc",
    cursor: CursorParameter = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
) -> RecordPageView:
    return _page(
        runtime.records_query_service().resolve_alias("tasks"),
        limit=limit,
        skip=skip,
        sort_by=sort_by,
        sort_order=sort_order,
        cursor=cursor,
        created_after=created_after,
        created_before=created_before,
    )


@app.get(
    "/records/<record_id>",
    summary="Get one record",
    tags=["records"],
    responses={
        200: {"description": "The record"},
        400: _error("The record id is malformed"),
        404: _error("The mirror has no such record, or it was deleted"),
        503: _error("The mirror's database did not answer"),
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
        503: _error("The mirror's database did not answer"),
    },
)
def list_tables() -> TablesView:
    summaries = runtime.records_query_service().list_tables()
    return TablesView(tables=[TableView.from_summary(summary) for summary in summaries])


@app.not_found
def route_not_found(_: Exception) -> Response[str]:
    event = app.current_event
    return error_response(404, "NOT_FOUND", f"no route {event.http_method} {event.path}")


def openapi_document() -> str:
    """The OpenAPI document /docs shows; docs/openapi.json is a copy (`make openapi` refreshes it)."""
    return app.get_openapi_json_schema(**OPENAPI_INFO)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
