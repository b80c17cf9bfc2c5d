"""dev_stack.queues against moto's SQS server: queues as the template defines them, and the consumer
doing what Lambda's event source mapping does with the function's answer."""

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from dev_stack.invoker import InvocationResult
from dev_stack.queues import (
    LocalQueue,
    QueueConsumer,
    create_queues,
    failed_message_ids,
    start_consumers,
)
from dev_stack.services import MotoServer
from dev_stack.template import QueueDefinition, SqsSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

EVENTS = Path(__file__).resolve().parents[3] / "events"
REGION = "us-east-1"
# How long a test waits for SQS to hand a message back (visibility timeouts here are one second).
REDELIVERY_WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = MotoServer()
    server.start()
    yield server.endpoint_url
    server.stop()


@pytest.fixture
def sqs(moto_endpoint: str) -> "SQSClient":
    return boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def definitions(*, fifo: bool = False, max_receive_count: int = 5) -> dict[str, QueueDefinition]:
    return {
        "WorkQueue": QueueDefinition(
            logical_id="WorkQueue",
            fifo=fifo,
            visibility_timeout=1,
            dead_letter_queue="WorkDeadLetterQueue",
            max_receive_count=max_receive_count,
            message_retention_seconds=None,
        ),
        "WorkDeadLetterQueue": QueueDefinition(
            logical_id="WorkDeadLetterQueue",
            fifo=fifo,
            visibility_timeout=30,
            dead_letter_queue=None,
            max_receive_count=None,
            message_retention_seconds=1209600,
        ),
    }


def make_queues(sqs: "SQSClient", **options: Any) -> dict[str, LocalQueue]:
    return create_queues(sqs, definitions(**options), stack_name=f"test-{uuid.uuid4().hex[:10]}")


class ScriptedFunction:
    """Answers each invocation with the next scripted answer (a function of the event)."""

    def __init__(self, *answers: Callable[[Mapping[str, Any]], InvocationResult]) -> None:
        self.answers = list(answers)
        self.events: list[dict[str, Any]] = []

    def __call__(self, function: str, event: Mapping[str, Any]) -> InvocationResult:
        self.events.append(json.loads(json.dumps(event)))
        return self.answers[min(len(self.events), len(self.answers)) - 1](event)


def succeed(_event: Mapping[str, Any]) -> InvocationResult:
    return InvocationResult("Worker", {"batchItemFailures": []}, None, 1.0)


def fail(_event: Mapping[str, Any]) -> InvocationResult:
    return InvocationResult(
        "Worker", {"errorMessage": "boom", "errorType": "RuntimeError"}, "RuntimeError: boom", 1.0
    )


def report_failed(*failing: str) -> Callable[[Mapping[str, Any]], InvocationResult]:
    def answer(event: Mapping[str, Any]) -> InvocationResult:
        failures = [
            {"itemIdentifier": record["messageId"]}
            for record in event["Records"]
            if record["body"] in failing
        ]
        return InvocationResult("Worker", {"batchItemFailures": failures}, None, 1.0)

    return answer


def consumer(
    sqs: "SQSClient",
    queue: LocalQueue,
    function: ScriptedFunction,
    *,
    batch_size: int = 10,
    report: bool = True,
) -> QueueConsumer:
    source = SqsSource(
        function="Worker", queue=queue.logical_id, batch_size=batch_size, report_batch_item_failures=report
    )
    return QueueConsumer(source, queue, sqs, function, region=REGION)


def poll_until_received(worker: QueueConsumer) -> int:
    deadline = time.monotonic() + REDELIVERY_WAIT_SECONDS
    while time.monotonic() < deadline:
        received = worker.poll_once().received
        if received:
            return received
    raise AssertionError("no message came back")


def queue_depth(sqs: "SQSClient", queue: LocalQueue) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_queues_are_created_with_the_templates_attributes(sqs: "SQSClient") -> None:
    queues = make_queues(sqs, fifo=True, max_receive_count=3)
    work, dead = queues["WorkQueue"], queues["WorkDeadLetterQueue"]
    assert work.name.endswith("-WorkQueue.fifo") and work.fifo
    attributes = sqs.get_queue_attributes(QueueUrl=work.url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "1"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead.arn, "maxReceiveCount": 3}
    dead_attributes = sqs.get_queue_attributes(QueueUrl=dead.url, AttributeNames=["All"])["Attributes"]
    assert dead_attributes["MessageRetentionPeriod"] == "1209600"


def test_a_redrive_target_that_is_not_a_queue_is_refused(sqs: "SQSClient") -> None:
    broken = {"WorkQueue": definitions()["WorkQueue"]}
    with pytest.raises(ValueError, match="WorkDeadLetterQueue"):
        create_queues(sqs, broken, stack_name="test-broken")


def test_the_event_has_the_shape_lambda_gives_an_sqs_function(sqs: "SQSClient") -> None:
    queue = make_queues(sqs)["WorkQueue"]
    sqs.send_message(
        QueueUrl=queue.url,
        MessageBody='{"run_id": "run_1"}',
        MessageAttributes={
            "origin": {"DataType": "String", "StringValue": "test"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    function = ScriptedFunction(succeed)
    assert consumer(sqs, queue, function).poll_once().received == 1

    (record,) = function.events[0]["Records"]
    sample = json.loads((EVENTS / "sync_worker_sqs.json").read_text())["Records"][0]
    assert set(record) - {"md5OfMessageAttributes"} == set(sample)
    assert set(sample["attributes"]) <= set(record["attributes"])
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["body"] == '{"run_id": "run_1"}'
    assert record["md5OfBody"] == hashlib.md5(b'{"run_id": "run_1"}').hexdigest()  # noqa: S324 - SQS's checksum
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == REGION
    assert record["messageAttributes"]["origin"] == {
        "stringValue": "test",
        "binaryValue": None,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


def test_fifo_messages_carry_their_group_deduplication_id_and_sequence_number(sqs: "SQSClient") -> None:
    queue = make_queues(sqs, fifo=True)["WorkQueue"]
    sqs.send_message(
        QueueUrl=queue.url, MessageBody="ping", MessageGroupId="achWEBHOOK", MessageDeduplicationId="ping-1"
    )
    function = ScriptedFunction(succeed)
    consumer(sqs, queue, function).poll_once()

    (record,) = function.events[0]["Records"]
    sample = json.loads((EVENTS / "webhook_worker_sqs.json").read_text())["Records"][0]
    assert set(sample["attributes"]) <= set(record["attributes"])
    assert record["attributes"]["MessageGroupId"] == "achWEBHOOK"
    assert record["attributes"]["MessageDeduplicationId"] == "ping-1"
    assert record["attributes"]["SequenceNumber"].isdigit()
    assert record["eventSourceARN"].endswith(".fifo")


def fail_first_delivery_of(body: str) -> Callable[[Mapping[str, Any]], InvocationResult]:
    def answer(event: Mapping[str, Any]) -> InvocationResult:
        failures = [
            {"itemIdentifier": record["messageId"]}
            for record in event["Records"]
            if record["body"] == body and record["attributes"]["ApproximateReceiveCount"] == "1"
        ]
        return InvocationResult("Worker", {"batchItemFailures": failures}, None, 1.0)

    return answer


def bodies(function: ScriptedFunction) -> list[tuple[str, str]]:
    """Every message the function was given: (body, receive count), in order."""
    return [
        (record["body"], record["attributes"]["ApproximateReceiveCount"])
        for event in function.events
        for record in event["Records"]
    ]


def test_a_partial_batch_failure_deletes_only_the_successes(sqs: "SQSClient") -> None:
    queue = make_queues(sqs)["WorkQueue"]
    for body in ("one", "two", "three"):
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    function = ScriptedFunction(fail_first_delivery_of("two"))
    worker = consumer(sqs, queue, function)

    while len(bodies(function)) < 3:  # SQS may hand the three over in more than one batch
        worker.poll_once()
    assert sorted(bodies(function)) == [("one", "1"), ("three", "1"), ("two", "1")]

    poll_until_received(worker)
    assert bodies(function)[3:] == [("two", "2")], "only the failed message came back"
    assert queue_depth(sqs, queue) == (0, 0), "the retried message succeeded and was deleted"


def test_a_function_error_deletes_no_message_of_the_batch(sqs: "SQSClient") -> None:
    queue = make_queues(sqs)["WorkQueue"]
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=queue.url, MessageBody=body)
    function = ScriptedFunction(fail, succeed)
    worker = consumer(sqs, queue, function)

    first = worker.poll_once()
    assert (first.deleted, first.failed) == (0, first.received)
    assert first.reason is not None and "RuntimeError: boom" in first.reason
    failed = {body for body, _ in bodies(function)}

    def redelivered() -> set[str]:
        return {body for body, count in bodies(function) if count == "2"}

    deadline = time.monotonic() + REDELIVERY_WAIT_SECONDS
    while not failed <= redelivered() and time.monotonic() < deadline:
        worker.poll_once()
    assert failed <= redelivered(), "every message of the failed batch came back"


def test_without_report_batch_item_failures_a_returned_batch_is_all_deleted(sqs: "SQSClient") -> None:
    queue = make_queues(sqs)["WorkQueue"]
    sqs.send_message(QueueUrl=queue.url, MessageBody="x")
    function = ScriptedFunction(report_failed("x"))
    outcome = consumer(sqs, queue, function, report=False).poll_once()
    assert (outcome.received, outcome.deleted, outcome.failed) == (1, 1, 0)
    assert queue_depth(sqs, queue) == (0, 0)


def test_a_message_that_keeps_failing_lands_in_the_dead_letter_queue(sqs: "SQSClient") -> None:
    queues = make_queues(sqs, max_receive_count=2)
    work, dead = queues["WorkQueue"], queues["WorkDeadLetterQueue"]
    sqs.send_message(QueueUrl=work.url, MessageBody="poison")
    function = ScriptedFunction(report_failed("poison"))
    worker = consumer(sqs, work, function)

    poll_until_received(worker)
    poll_until_received(worker)
    assert [event["Records"][0]["attributes"]["ApproximateReceiveCount"] for event in function.events] == [
        "1",
        "2",
    ]

    deadline = time.monotonic() + REDELIVERY_WAIT_SECONDS
    parked: list[Any] = []
    while not parked and time.monotonic() < deadline:
        worker.poll_once()  # the third receive finds the message over maxReceiveCount and moves it
        parked = sqs.receive_message(QueueUrl=dead.url, WaitTimeSeconds=0).get("Messages", [])
    assert [message["Body"] for message in parked] == ["poison"]
    assert len(function.events) == 2, "a message past maxReceiveCount is not delivered again"


def test_a_delayed_message_is_delivered_after_its_delay(sqs: "SQSClient") -> None:
    queue = make_queues(sqs)["WorkQueue"]
    sqs.send_message(QueueUrl=queue.url, MessageBody="later", DelaySeconds=3)
    function = ScriptedFunction(succeed)
    worker = QueueConsumer(
        SqsSource(function="Worker", queue="WorkQueue", batch_size=1, report_batch_item_failures=True),
        queue,
        sqs,
        function,
        region=REGION,
        wait_seconds=0,
    )
    assert worker.poll_once().received == 0, "not before its delay"
    assert poll_until_received(worker) == 1
    assert function.events[0]["Records"][0]["body"] == "later"


@pytest.mark.parametrize(
    ("payload", "error", "failed"),
    [
        (None, None, set()),
        ({}, None, set()),
        ({"batchItemFailures": None}, None, set()),
        ({"batchItemFailures": []}, None, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, None, {"m2"}),
        # Lambda fails the whole batch for a report it cannot use
        ({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, None, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None, {"m1", "m2"}),
        ({"batchItemFailures": [{"id": "m1"}]}, None, {"m1", "m2"}),
        ({"batchItemFailures": "m1"}, None, {"m1", "m2"}),
        ("done", None, {"m1", "m2"}),
        ({"errorMessage": "boom"}, "RuntimeError: boom", {"m1", "m2"}),
    ],
)
def test_which_messages_a_functions_answer_leaves_for_retry(
    payload: Any, error: str | None, failed: set[str]
) -> None:
    outcome = InvocationResult("Worker", payload, error, 1.0)
    assert failed_message_ids(outcome, ["m1", "m2"], report_batch_item_failures=True)[0] == failed


def test_consumer_threads_feed_the_function_and_stop(sqs: "SQSClient", moto_endpoint: str) -> None:
    queue = make_queues(sqs)["WorkQueue"]
    sqs.send_message(QueueUrl=queue.url, MessageBody="threaded")
    function = ScriptedFunction(succeed)
    source = SqsSource(function="Worker", queue="WorkQueue", batch_size=10, report_batch_item_failures=True)
    disabled = SqsSource(
        function="Idle", queue="WorkQueue", batch_size=10, report_batch_item_failures=True, enabled=False
    )
    consumers = start_consumers(
        [source, disabled], {"WorkQueue": queue}, lambda: sqs, function, region=REGION
    )
    try:
        assert [started.source.function for started in consumers] == ["Worker"]
        deadline = time.monotonic() + REDELIVERY_WAIT_SECONDS
        while not function.events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [record["body"] for record in function.events[0]["Records"]] == ["threaded"]
    finally:
        for started in consumers:
            started.stop(timeout=10)
    assert not any(started.running for started in consumers)
