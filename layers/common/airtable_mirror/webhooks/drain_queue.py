"""The queue between the receiver (and the daily maintenance) and the webhook worker: SQS FIFO in AWS.

One message says "drain this webhook". Messages of one webhook share a message group (the webhook
id), so SQS hands them to one worker at a time, in order; the deduplication id makes a repeated send
of the same ping (a retried invocation, a duplicated ping that raced the duplicate check) one message.
"""

import json
import queue
import re
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_DEDUPLICATION_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")


@dataclass(frozen=True)
class DrainMessage:
    """Drain webhook ``webhook_id`` of ``base_id``.

    ``reason``: ``ping`` (a verified Airtable ping, ``ping_timestamp`` its timestamp) or what else asked
    (``maintenance``). ``deduplication_id`` identifies the request, not the webhook: two pings are two
    messages, the same ping sent twice is one.
    """

    base_id: str
    webhook_id: str
    reason: str
    deduplication_id: str
    ping_timestamp: str | None = None

    def __post_init__(self) -> None:
        if not _DEDUPLICATION_ID.fullmatch(self.deduplication_id):
            raise ValueError(f"not a valid SQS deduplication id: {self.deduplication_id!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> "DrainMessage":
        document: Any = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("a drain message is a JSON object")
        missing = [key for key in ("base_id", "webhook_id", "deduplication_id") if key not in document]
        if missing:
            raise ValueError(f"a drain message needs {', '.join(missing)}")
        timestamp = document.get("ping_timestamp")
        return cls(
            base_id=str(document["base_id"]),
            webhook_id=str(document["webhook_id"]),
            reason=str(document.get("reason", "ping")),
            deduplication_id=str(document["deduplication_id"]),
            ping_timestamp=None if timestamp is None else str(timestamp),
        )


class DrainQueue(Protocol):
    def send(self, message: DrainMessage) -> None: ...


class SqsFifoDrainQueue:
    def __init__(self, sqs: "SQSClient", queue_url: str) -> None:
        if not queue_url.endswith(".fifo"):
            raise ValueError(f"the webhook queue must be a FIFO queue (….fifo), got {queue_url!r}")
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, message: DrainMessage) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.to_json(),
            MessageGroupId=message.webhook_id,
            MessageDeduplicationId=message.deduplication_id,
        )


class InMemoryDrainQueue:
    """The queue in one process (tests, the benchmark): a thread-safe FIFO, deduplicated like SQS
    within its lifetime."""

    def __init__(self) -> None:
        self.messages: queue.Queue[DrainMessage] = queue.Queue()
        self.sent: list[DrainMessage] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def send(self, message: DrainMessage) -> None:
        with self._lock:
            if message.deduplication_id in self._seen:
                return
            self._seen.add(message.deduplication_id)
            self.sent.append(message)
        self.messages.put(message)

    def take_all(self) -> list[DrainMessage]:
        taken: list[DrainMessage] = []
        while True:
            try:
                taken.append(self.messages.get_nowait())
            except queue.Empty:
                return taken
