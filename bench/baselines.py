"""The two ways of copying a table that the benchmark compares airtable-mirror with.

- the naive loop: requests and tenacity, one page after another, one PutItem per record;
- pyairtable's `Table.iterate` feeding boto3's `batch_writer`.

Both store the item a hand-written copier would: the mirror's key and index keys (so the items cost
the same to write and land in the same index) and the cells as a DynamoDB map. Neither paces its
requests, and neither looks at what is already stored: a re-sync rewrites every record.
"""

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import requests
from boto3.dynamodb.types import TypeSerializer
from pyairtable import Api
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from airtable_mirror.repository.keys import RECORD_SK, index_sort_key, record_pk, table_key
from airtable_mirror.repository.timestamps import normalize_created_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

PAGE_SIZE = 100
NAIVE_MAX_ATTEMPTS = 8  # waits of 1, 2, 4, 8, 16, 30, 30 s: long enough to outlast Airtable's 30 s penalty
NAIVE_MAX_WAIT_SECONDS = 30.0
REQUEST_TIMEOUT_SECONDS = 30.0
_URLLIB3_CAUSE = re.compile(r"Caused by \w+\('([^']*)'\)")


@dataclass(frozen=True)
class CopyOutcome:
    records_copied: int
    seconds: float
    failure: str | None = None


def baseline_item(base_id: str, table_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A REST record as a plain boto3 item (numbers as Decimal, as boto3 requires)."""
    record_id = str(record["id"])
    created_time = str(record["createdTime"])
    cells = json.loads(json.dumps(record.get("fields", {})), parse_float=Decimal)
    return {
        "pk": record_pk(base_id, record_id),
        "sk": RECORD_SK,
        "base_id": base_id,
        "table_id": table_id,
        "record_id": record_id,
        "created_time": created_time,
        "table_key": table_key(base_id, table_id),
        "created_key": index_sort_key(normalize_created_time(created_time), record_id),
        "cells": cells,
    }


def _reason(error: requests.RequestException) -> str:
    """The exception's type and urllib3's cause ("too many 429 error responses"), without the URL."""
    cause = _URLLIB3_CAUSE.search(str(error))
    return f"{type(error).__name__} ({cause.group(1)})" if cause else type(error).__name__


class _RetryableStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def naive_copy(
    *,
    api_url: str,
    token: str,
    base_id: str,
    table_id: str,
    dynamodb: "DynamoDBClient",
    table_name: str,
    clock: Callable[[], float] = time.perf_counter,
) -> CopyOutcome:
    """Page after page with `requests`, retrying 429 and 5xx with tenacity's exponential backoff."""
    serializer = TypeSerializer()
    url = f"{api_url.rstrip('/')}/v0/{base_id}/{table_id}"
    headers = {"Authorization": f"Bearer {token}"}
    copied = 0
    started = clock()

    def fetch(session: requests.Session, offset: str | None) -> dict[str, Any]:
        params = {"pageSize": str(PAGE_SIZE), "returnFieldsByFieldId": "true"}
        if offset is not None:
            params["offset"] = offset
        response = session.get(url, params=params, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
        if response.status_code == 429 or response.status_code >= 500:
            raise _RetryableStatus(response.status_code)
        response.raise_for_status()
        page: dict[str, Any] = response.json()
        return page

    retrying = Retrying(
        retry=retry_if_exception_type(_RetryableStatus),
        wait=wait_exponential(multiplier=1, max=NAIVE_MAX_WAIT_SECONDS),
        stop=stop_after_attempt(NAIVE_MAX_ATTEMPTS),
        reraise=True,
    )
    try:
        with requests.Session() as session:
            offset: str | None = None
            while True:
                page = retrying(fetch, session, offset)
                for record in page.get("records", []):
                    item = baseline_item(base_id, table_id, record)
                    dynamodb.put_item(
                        TableName=table_name,
                        Item={name: serializer.serialize(value) for name, value in item.items()},
                    )
                    copied += 1
                offset = page.get("offset")
                if offset is None:
                    break
    except (_RetryableStatus, requests.RequestException) as error:
        return CopyOutcome(copied, clock() - started, f"gave up: {type(error).__name__}: {error}")
    return CopyOutcome(copied, clock() - started)


def pyairtable_copy(
    *,
    api_url: str,
    token: str,
    base_id: str,
    table_id: str,
    table: "Table",
    clock: Callable[[], float] = time.perf_counter,
) -> CopyOutcome:
    """`Table.iterate` into `batch_writer`, with pyairtable's default retries (429 only, ~3 s in all)."""
    api = Api(token, endpoint_url=api_url)
    source = api.table(base_id, table_id)
    copied = 0
    started = clock()
    try:
        # On an error batch_writer still flushes what it holds, so every record handed to it is copied.
        with table.batch_writer() as writer:
            for page in source.iterate(page_size=PAGE_SIZE, use_field_ids=True):
                for record in page:
                    writer.put_item(Item=baseline_item(base_id, table_id, record))
                    copied += 1
    except requests.RequestException as error:
        return CopyOutcome(copied, clock() - started, f"gave up: {_reason(error)}")
    finally:
        api.session.close()
    return CopyOutcome(copied, clock() - started)
