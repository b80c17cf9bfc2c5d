"""The composition root: one of each client and service per warm container, built from Settings.

Handlers ask for what they need here; nothing is created at import time, so importing a handler
costs no network call and tests can swap the environment before the first use (``reset()``).
"""

from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from airtable_mirror.airtable import AirtableClient
from airtable_mirror.credentials import make_token_provider
from airtable_mirror.repository import DynamoPacer, RecordRepository, SyncRunRepository
from airtable_mirror.repository.table_schemas import TableSchemaRepository
from airtable_mirror.run_queue import SqsRunQueue
from airtable_mirror.settings import ConfigurationError, Settings, get_settings
from airtable_mirror.sync.engine import SyncEngine
from airtable_mirror.sync.service import SyncService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

# botocore's own retries (standard mode: exponential backoff with jitter, throttling included).
_AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)

_CACHED: list["_lru_cache_wrapper[Any]"] = []


def per_container[T](factory: Callable[[], T]) -> Callable[[], T]:
    """Build once per warm container; ``reset()`` forgets every object built this way."""
    cached = lru_cache(maxsize=1)(factory)
    _CACHED.append(cached)
    return cached


def settings() -> Settings:
    return get_settings()


@per_container
def dynamodb_client() -> "DynamoDBClient":
    return boto3.client("dynamodb", endpoint_url=settings().dynamodb_endpoint_url, config=_AWS_CONFIG)


@per_container
def sqs_client() -> "SQSClient":
    return boto3.client("sqs", config=_AWS_CONFIG)


@per_container
def airtable_client() -> AirtableClient:
    config = settings()
    pacer = DynamoPacer(
        dynamodb_client(),
        config.mirror_table_name,
        config.airtable_base_id,
        requests_per_second=config.requests_per_second,
    )
    return AirtableClient(
        base_id=config.airtable_base_id,
        token_provider=make_token_provider(config),
        api_url=config.airtable_api_url,
        pacer=pacer,
        timeout=config.request_timeout_seconds,
        rate_limit_penalty_seconds=config.rate_limit_penalty_seconds,
    )


@per_container
def record_repository() -> RecordRepository:
    return RecordRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def sync_run_repository() -> SyncRunRepository:
    return SyncRunRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def table_schema_repository() -> TableSchemaRepository:
    return TableSchemaRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def sync_service() -> SyncService:
    config = settings()
    if not config.sync_queue_url:
        raise ConfigurationError("SYNC_QUEUE_URL is not set")
    return SyncService(
        base_id=config.airtable_base_id,
        client=airtable_client(),
        runs=sync_run_repository(),
        schemas=table_schema_repository(),
        queue=SqsRunQueue(sqs_client(), config.sync_queue_url),
        aliases=config.table_aliases,
    )


@per_container
def sync_engine() -> SyncEngine:
    return SyncEngine(
        airtable_client(),
        record_repository(),
        sync_run_repository(),
        table_schema_repository(),
        tombstone_ttl_seconds=settings().tombstone_ttl_seconds,
    )


def reset() -> None:
    """Forget every cached object (tests, and the local stack when its configuration changes)."""
    get_settings.cache_clear()
    for cached in _CACHED:
        cached.cache_clear()
