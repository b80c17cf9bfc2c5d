"""Daily webhook maintenance (EventBridge schedule): refresh every webhook long before its 7-day
expiry, turn notifications back on, recreate a webhook that expired or became invalid (then full
syncs cover the gap), and retry pending full syncs. What each step does:
``airtable_mirror.webhooks.lifecycle``.
"""

from dataclasses import asdict
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
    report = runtime.webhook_lifecycle().maintain()
    result = {
        "actions": [asdict(action) for action in report.actions],
        "full_syncs": [asdict(outcome) for outcome in report.full_syncs],
    }
    repaired = len(report.by_action("repaired"))
    failed = len(report.by_action("failed"))
    metrics.add_metric(name="WebhooksRepaired", unit="Count", value=repaired)
    metrics.add_metric(name="WebhookMaintenanceFailures", unit="Count", value=failed)
    log = logger.error if failed else logger.info
    log("webhook maintenance", rule=event.resources, result=result)
    return result
