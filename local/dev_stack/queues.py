"""SQS queues and their Lambda event source mappings, locally.

The queues are created on the SQS stand-in (moto's server) from template.yaml's definitions: FIFO,
visibility timeout, retention and the redrive policy to the dead-letter queue. Each SQS event source
of a function gets a consumer thread that does what Lambda's event source mapping does: long-polls
the queue for up to BatchSize messages, hands them to the function as an SQS event, and deletes the
messages that succeeded: all of them when the function returns, none when it raises, and with
ReportBatchItemFailures all but the ``batchItemFailures`` it reports (an invalid report fails the
whole batch, as Lambda does). Failed messages stay in flight: they come back after the visibility
timeout, and SQS moves them to the dead-letter queue after maxReceiveCount receives.
"""

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dev_stack.schedules import InvocationOutcome, InvokeFunction
from dev_stack.template import QueueDefinition, SqsSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = logging.getLogger("dev_stack.queues")

LONG_POLL_SECONDS = 1
# After an error talking to the queue (the SQS stand-in stopping, say), wait this long before polling.
RECEIVE_ERROR_BACKOFF_SECONDS = 1.0


@dataclass(frozen=True)
class LocalQueue:
    """A queue created on the SQS stand-in for one of the template's queues."""

    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool


def queue_name(stack_name: str, definition: QueueDefinition) -> str:
    name = f"{stack_name}-{definition.logical_id}"
    return f"{name}.fifo" if definition.fifo else name


def create_queues(
    sqs: "SQSClient", definitions: Mapping[str, QueueDefinition], *, stack_name: str
) -> dict[str, LocalQueue]:
    """Create every queue (dead-letter queues first, so redrive policies can name them)."""
    created: dict[str, LocalQueue] = {}
    remaining = dict(definitions)
    while remaining:
        ready = [
            definition
            for definition in remaining.values()
            if definition.dead_letter_queue is None or definition.dead_letter_queue in created
        ]
        if not ready:
            missing = {d.logical_id: d.dead_letter_queue for d in remaining.values()}
            raise ValueError(f"dead-letter queues that are not queues of the template: {missing}")
        for definition in ready:
            created[definition.logical_id] = _create_queue(sqs, definition, created, stack_name)
            del remaining[definition.logical_id]
    return created


def _create_queue(
    sqs: "SQSClient", definition: QueueDefinition, created: Mapping[str, LocalQueue], stack_name: str
) -> LocalQueue:
    attributes: dict[str, str] = {"VisibilityTimeout": str(definition.visibility_timeout)}
    if definition.fifo:
        attributes["FifoQueue"] = "true"
        if definition.content_based_deduplication:
            attributes["ContentBasedDeduplication"] = "true"
    if definition.delay_seconds:
        attributes["DelaySeconds"] = str(definition.delay_seconds)
    if definition.message_retention_seconds is not None:
        attributes["MessageRetentionPeriod"] = str(definition.message_retention_seconds)
    if definition.dead_letter_queue is not None:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": created[definition.dead_letter_queue].arn,
                "maxReceiveCount": definition.max_receive_count or 1,
            }
        )
    name = queue_name(stack_name, definition)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return LocalQueue(definition.logical_id, name, url, arn, definition.fifo)


def _lambda_message_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    binary = attribute.get("BinaryValue")
    return {
        "stringValue": attribute.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode("ascii") if isinstance(binary, bytes) else binary,
        "stringListValues": list(attribute.get("StringListValues", [])),
        "binaryListValues": [
            base64.b64encode(item).decode("ascii") if isinstance(item, bytes) else item
            for item in attribute.get("BinaryListValues", [])
        ],
        "dataType": attribute.get("DataType", "String"),
    }


def sqs_event_record(message: "MessageTypeDef", *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda builds from a received message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        **(
            {"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
            if "MD5OfMessageAttributes" in message
            else {}
        ),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: Sequence["MessageTypeDef"], *, queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [sqs_event_record(message, queue_arn=queue_arn, region=region) for message in messages]
    }


def failed_message_ids(
    outcome: InvocationOutcome, message_ids: Sequence[str], *, report_batch_item_failures: bool
) -> tuple[set[str], str | None]:
    """The messages of the batch that must not be deleted, and why (None when all succeeded)."""
    everything = set(message_ids)
    if outcome.error is not None:
        return everything, f"the function failed: {outcome.error}"
    if not report_batch_item_failures:
        return set(), None
    payload = outcome.payload
    if payload is None or payload == {}:
        return set(), None
    if not isinstance(payload, Mapping):
        return everything, "the function's response is not a batch item failures report"
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return set(), None
    if not isinstance(failures, list):
        return everything, "batchItemFailures is not a list"
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything, f"invalid batchItemFailures entry {failure!r}"
        failed.add(identifier)
    return failed, f"{len(failed)} reported failed"


@dataclass(frozen=True)
class BatchOutcome:
    received: int
    deleted: int
    failed: int
    reason: str | None = None


class QueueConsumer:
    """The event source mapping of one SQS source: a thread that polls, invokes and deletes."""

    def __init__(
        self,
        source: SqsSource,
        queue: LocalQueue,
        sqs: "SQSClient",
        invoke: InvokeFunction,
        *,
        region: str,
        wait_seconds: int = LONG_POLL_SECONDS,
    ) -> None:
        self.source = source
        self.queue = queue
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self._wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> BatchOutcome:
        """Receive one batch (long poll), invoke the function with it, delete what succeeded."""
        response = self._sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=max(1, min(self.source.batch_size, 10)),
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return BatchOutcome(0, 0, 0)
        started = time.monotonic()
        outcome = self._invoke(
            self.source.function, sqs_event(messages, queue_arn=self.queue.arn, region=self._region)
        )
        failed, reason = failed_message_ids(
            outcome,
            [message["MessageId"] for message in messages],
            report_batch_item_failures=self.source.report_batch_item_failures,
        )
        succeeded = [message for message in messages if message["MessageId"] not in failed]
        deleted = self._delete(succeeded)
        result = BatchOutcome(len(messages), deleted, len(failed), reason)
        log = logger.warning if failed else logger.info
        log(
            "%s <- %s: %d message(s), %d deleted, %d left for retry%s (%.0f ms)",
            self.source.function,
            self.queue.logical_id,
            result.received,
            result.deleted,
            result.failed,
            f": {reason}" if reason else "",
            (time.monotonic() - started) * 1000,
        )
        return result

    def _delete(self, messages: Iterable["MessageTypeDef"]) -> int:
        entries = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
        ]
        deleted = 0
        for start in range(0, len(entries), 10):
            answer = self._sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=entries[start : start + 10],  # type: ignore[arg-type]
            )
            deleted += len(answer.get("Successful", []))
            for failure in answer.get("Failed", []):
                logger.warning("%s: could not delete a message: %s", self.queue.logical_id, failure)
        return deleted

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"dev-stack-consumer-{self.source.function}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("%s is still running an invocation; leaving it", self.source.function)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as error:
                if self._stop.is_set():
                    return
                logger.warning(
                    "%s: polling %s failed: %s", self.source.function, self.queue.logical_id, error
                )
                self._stop.wait(RECEIVE_ERROR_BACKOFF_SECONDS)


def start_consumers(
    sources: Sequence[SqsSource],
    queues: Mapping[str, LocalQueue],
    sqs_factory: Callable[[], "SQSClient"],
    invoke: InvokeFunction,
    *,
    region: str,
) -> list[QueueConsumer]:
    """One consumer per SQS source (each with its own client: long polls block their connection)."""
    consumers = []
    for source in sources:
        if not source.enabled:
            logger.warning(
                "%s's SQS source is disabled in the template: not polling %s", source.function, source.queue
            )
            continue
        if source.queue not in queues:
            raise ValueError(f"{source.function} reads {source.queue}, which is not a queue of the template")
        consumer = QueueConsumer(source, queues[source.queue], sqs_factory(), invoke, region=region)
        consumer.start()
        consumers.append(consumer)
    return consumers
