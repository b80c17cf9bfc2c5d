"""Sync worker: carries sync runs forward, one SQS message per slice of a run.

A slice stops well before the Lambda time limit and queues the next slice of its run, so a table of
any size syncs. A crashed slice's message comes back after the visibility timeout and the run
resumes from its last checkpoint.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from airtable_mirror import runtime
from airtable_mirror.observability import logger, metrics, tracer
from airtable_mirror.run_queue import RunMessage, SqsRunQueue
from airtable_mirror.sync.engine import SliceOutcome

# A run that finds its base held by another run waits this long before trying again.
BASE_BUSY_RETRY_SECONDS = 60

processor = BatchProcessor(event_type=EventType.SQS)


def continue_run(message: RunMessage, context: LambdaContext) -> SliceOutcome:
    settings = runtime.settings()
    margin_ms = settings.handover_margin_seconds * 1000
    result = runtime.sync_engine().run_slice(
        message.base_id,
        message.run_id,
        should_hand_over=lambda: context.get_remaining_time_in_millis() < margin_ms,
        slice_number=message.slice_number,
        owner=context.aws_request_id,
    )
    queue = SqsRunQueue(runtime.sqs_client(), settings.sync_queue_url or "")
    if result.outcome is SliceOutcome.HANDOVER:
        queue.send(RunMessage(message.base_id, message.run_id, message.slice_number + 1))
    elif result.outcome is SliceOutcome.BASE_BUSY:
        queue.send(message, delay_seconds=BASE_BUSY_RETRY_SECONDS)
    logger.info(
        "sync slice done", run_id=message.run_id, outcome=result.outcome.value, slice=message.slice_number
    )
    metrics.add_metric(name=f"SyncSlice_{result.outcome.value}", unit="Count", value=1)
    return result.outcome


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    def record_handler(record: SQSRecord) -> str:
        # A malformed message raises: it is retried, then kept in the dead-letter queue for a look.
        return continue_run(RunMessage.from_json(record.body), context).value

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
