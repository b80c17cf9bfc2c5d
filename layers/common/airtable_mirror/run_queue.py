"""The queue that carries sync runs from one invocation to the next (SQS in AWS)."""

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY_SECONDS = 900  # SQS's limit for DelaySeconds


@dataclass(frozen=True)
class RunMessage:
    """Continue sync run ``run_id`` of ``base_id``; ``slice_number`` orders the handovers of one run."""

    base_id: str
    run_id: str
    slice_number: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> "RunMessage":
        document: Any = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("a run message is a JSON object")
        return cls(
            base_id=str(document["base_id"]),
            run_id=str(document["run_id"]),
            slice_number=int(document.get("slice_number", 0)),
        )


class RunQueue(Protocol):
    def send(self, message: RunMessage, *, delay_seconds: int = 0) -> None: ...


class SqsRunQueue:
    def __init__(self, sqs: "SQSClient", queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def send(self, message: RunMessage, *, delay_seconds: int = 0) -> None:
        self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.to_json(),
            DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
        )
