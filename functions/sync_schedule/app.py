"""Scheduled sync: an EventBridge rule starts a run for each configured table."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from airtable_mirror import runtime
from airtable_mirror.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    tables = runtime.settings().sync_tables
    started, failed = runtime.sync_service().start_runs(tables)
    result = {
        "started": [s.run.run_id for s in started if s.created],
        "already_active": [s.run.run_id for s in started if not s.created],
        "failed": failed,
    }
    logger.info("scheduled sync", rule=event.resources, tables=tables, result=result)
    return result
