"""Sync API: start a sync run of a table, and follow it.

POST /sync/{table}        → 202 with the queued run, or 409 with the run already going
GET  /sync/runs           → recent runs, newest first (?table=, ?limit=1..100, ?cursor=)
GET  /sync/runs/{run_id}  → the run's status and counts
"""

from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from airtable_mirror import runtime
from airtable_mirror.api.errors import ApiError, register_error_handlers
from airtable_mirror.api.sync_models import SyncRunsView, SyncRunView
from airtable_mirror.observability import logger, metrics, tracer
from airtable_mirror.repository.sync_runs import MAX_RUNS_PER_PAGE
from airtable_mirror.sync.service import (
    DEFAULT_RUNS_PER_PAGE,
    MAX_TABLE_REFERENCE_LENGTH,
    RUNS_CURSOR_PATTERN,
    InvalidRunIdError,
    InvalidRunsCursorError,
    InvalidTableReferenceError,
    QueueUnavailableError,
    RunNotFoundError,
    TableNotMirroredError,
)

app = APIGatewayHttpResolver(enable_validation=True)
register_error_handlers(app)


@app.post("/sync/<table>", summary="Start a full sync of a table", tags=["sync"])
def start_sync(table: str) -> Response[SyncRunView]:
    try:
        started = runtime.sync_service().start_run(unquote(table))
    except InvalidTableReferenceError as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "INVALID_TABLE", str(error)) from None
    except QueueUnavailableError as error:
        raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "QUEUE_UNAVAILABLE", str(error)) from None
    view = SyncRunView.from_run(started.run)
    if not started.created:
        raise ApiError(
            HTTPStatus.CONFLICT,
            "SYNC_RUN_ACTIVE",
            f"a sync run of {started.run.table_name} is already {started.run.status}",
            run_id=started.run.run_id,
        )
    metrics.add_metric(name="SyncRunsStarted", unit="Count", value=1)
    return Response(HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, view)


@app.get("/sync/runs", summary="List recent sync runs, newest first", tags=["sync"])
def list_sync_runs(
    table: Annotated[
        str | None,
        Query(
            max_length=MAX_TABLE_REFERENCE_LENGTH, description="only this table's runs (name, id or alias)"
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_RUNS_PER_PAGE, description=f"runs per page, 1..{MAX_RUNS_PER_PAGE}")
    ] = DEFAULT_RUNS_PER_PAGE,
    cursor: Annotated[
        str | None, Query(pattern=RUNS_CURSOR_PATTERN, description="next_cursor of the previous page")
    ] = None,
) -> SyncRunsView:
    try:
        listing = runtime.sync_service().list_runs(table=table, limit=limit, cursor=cursor)
    except InvalidTableReferenceError as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", f"table: {error}", parameter="table"
        ) from None
    except InvalidRunsCursorError as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", f"cursor: {error}", parameter="cursor"
        ) from None
    except TableNotMirroredError as error:
        raise ApiError(HTTPStatus.NOT_FOUND, "TABLE_NOT_FOUND", str(error)) from None
    return SyncRunsView.from_listing(listing)


@app.get("/sync/runs/<run_id>", summary="Show a sync run's status and counts", tags=["sync"])
def get_sync_run(run_id: str) -> SyncRunView:
    try:
        report = runtime.sync_service().report(run_id)
    except InvalidRunIdError as error:
        raise ApiError(HTTPStatus.BAD_REQUEST, "INVALID_RUN_ID", str(error)) from None
    except RunNotFoundError as error:
        raise ApiError(HTTPStatus.NOT_FOUND, "RUN_NOT_FOUND", str(error)) from None
    return SyncRunView.from_report(report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
