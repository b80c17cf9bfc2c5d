"""Webhook worker: drains a webhook's payloads into the mirror, one SQS FIFO message per request.

Messages of one webhook share a message group, so SQS gives them to one invocation at a time, in
order; coalesced or duplicate pings are harmless since each drain takes whatever Airtable has. A
drain that runs short of time stops between batches and queues its own continuation. An error
payload ends the drain and the webhook is repaired right away (recreated, then full syncs).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from airtable_mirror import runtime
from airtable_mirror.observability import logger, metrics, tracer
from airtable_mirror.webhooks.drain import DrainOutcome, DrainResult
from airtable_mirror.webhooks.drain_queue import DrainMessage

# A drain stops between batches when less time than this is left, and queues the rest.
STOP_MARGIN_MILLIS = 20_000

# One failed message fails the rest of its webhook's messages in the batch (order is kept) and no
# other webhook's.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


class WebhookBusyError(RuntimeError):
    """Another drain holds the webhook: the message comes back after the visibility timeout."""


def drain(message: DrainMessage, context: LambdaContext) -> DrainResult:
    settings = runtime.settings()
    if message.base_id != settings.airtable_base_id:
        logger.warning("drain message for another base ignored", base_id=message.base_id)
        return DrainResult(DrainOutcome.UNKNOWN, message.webhook_id)
    result = runtime.webhook_drainer().drain(
        message.webhook_id,
        should_stop=lambda: context.get_remaining_time_in_millis() < STOP_MARGIN_MILLIS,
    )
    metrics.add_metric(name=f"WebhookDrain_{result.outcome.value}", unit="Count", value=1)
    metrics.add_metric(name="WebhookAirtableRequests", unit="Count", value=result.requests)
    metrics.add_metric(name="WebhookRecordsWritten", unit="Count", value=result.counts.written)
    if result.outcome is DrainOutcome.BUSY:
        raise WebhookBusyError(f"webhook {message.webhook_id} is being drained by another worker")
    if result.more_left:
        runtime.drain_queue().send(
            DrainMessage(
                message.base_id,
                message.webhook_id,
                "continuation",
                f"continue-{message.webhook_id}-{result.cursor_to}",
            )
        )
    if result.outcome is DrainOutcome.HOOK_ERROR:
        replacement = runtime.webhook_lifecycle().repair(
            message.webhook_id, f"Airtable sent an error payload: {result.error_code}"
        )
        logger.warning(
            "webhook repaired after an error payload",
            webhook_id=message.webhook_id,
            replacement=replacement.webhook_id if replacement else None,
        )
    return result


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> str:
        # A malformed message raises: it is retried, then kept in the dead-letter queue for a look.
        return drain(DrainMessage.from_json(record.body), context).outcome.value

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
