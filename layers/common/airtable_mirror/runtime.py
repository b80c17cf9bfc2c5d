"""The composition root: one of each client and service per warm container, built from Settings.

Handlers ask for what they need here; nothing is created at import time, so importing a handler
costs no network call and tests can swap the environment before the first use (``reset()``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import _lru_cache_wrapper, lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from airtable_mirror.settings import ConfigurationError, Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

    from airtable_mirror.airtable import AirtableClient
    from airtable_mirror.records_api.service import RecordsQueryService
    from airtable_mirror.repository import RecordRepository, SyncRunRepository
    from airtable_mirror.repository.direct_writes import DirectWriteClient
    from airtable_mirror.repository.table_schemas import TableSchemaRepository
    from airtable_mirror.repository.webhooks import WebhookRepository
    from airtable_mirror.sync.engine import SyncEngine
    from airtable_mirror.sync.service import SyncService
    from airtable_mirror.webhooks.applier import PayloadApplier
    from airtable_mirror.webhooks.drain import WebhookDrainer
    from airtable_mirror.webhooks.drain_queue import DrainQueue
    from airtable_mirror.webhooks.full_syncs import FullSyncRequests
    from airtable_mirror.webhooks.lifecycle import WebhookLifecycle
    from airtable_mirror.webhooks.push import PushApplier
    from airtable_mirror.webhooks.receiver import PingReceiver
    from airtable_mirror.webhooks.secrets import (
        MacSecretStore,
    )

# botocore's own retries (standard mode: exponential backoff with jitter, throttling included).
_AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=16)

_CACHED: list[_lru_cache_wrapper[Any]] = []


def per_container[T](factory: Callable[[], T]) -> Callable[[], T]:
    """Build once per warm container; ``reset()`` forgets every object built this way."""
    cached = lru_cache(maxsize=1)(factory)
    _CACHED.append(cached)
    return cached


def settings() -> Settings:
    return get_settings()


@per_container
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", endpoint_url=settings().dynamodb_endpoint_url, config=_AWS_CONFIG)


@per_container
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_AWS_CONFIG)


@per_container
def airtable_client() -> AirtableClient:
    from airtable_mirror.airtable import AirtableClient
    from airtable_mirror.credentials import make_token_provider
    from airtable_mirror.repository import DynamoPacer

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
    from airtable_mirror.repository import RecordRepository

    return RecordRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def sync_run_repository() -> SyncRunRepository:
    from airtable_mirror.repository import SyncRunRepository

    return SyncRunRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def table_schema_repository() -> TableSchemaRepository:
    from airtable_mirror.repository.table_schemas import TableSchemaRepository

    return TableSchemaRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def sync_service() -> SyncService:
    from airtable_mirror.run_queue import SqsRunQueue
    from airtable_mirror.sync.service import SyncService

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
def record_write_client() -> DynamoDBClient | DirectWriteClient:
    """The sync engine's client for record writes, one per record in a full sync: the
    `DirectWriteClient` (repository/direct_writes.py says what it keeps and leaves out of a boto3
    call), or, where it cannot go (a proxy), a boto3 client without parameter validation."""
    from airtable_mirror.repository.direct_writes import DirectWriteClient

    client = boto3.client(
        "dynamodb",
        endpoint_url=settings().dynamodb_endpoint_url,
        config=_AWS_CONFIG.merge(Config(parameter_validation=False)),
    )
    credentials = boto3.session.Session().get_credentials()
    if credentials is None or not DirectWriteClient.usable_for(client):
        return client
    return DirectWriteClient(client, credentials)


@per_container
def sync_engine() -> SyncEngine:
    from airtable_mirror.repository import RecordRepository
    from airtable_mirror.sync.engine import SyncEngine

    config = settings()
    return SyncEngine(
        airtable_client(),
        RecordRepository(
            dynamodb_client(), config.mirror_table_name, record_write_client=record_write_client()
        ),
        sync_run_repository(),
        table_schema_repository(),
        tombstone_ttl_seconds=config.tombstone_ttl_seconds,
    )


@per_container
def records_query_service() -> RecordsQueryService:
    from airtable_mirror.records_api.cursor import CursorCodec, make_signing_key_provider
    from airtable_mirror.records_api.service import RecordsQueryService
    from airtable_mirror.repository.record_index import RecordIndex

    config = settings()
    signing_key = make_signing_key_provider(
        config.cursor_signing_secret, config.cursor_signing_key, secrets_client=secretsmanager_client
    )
    return RecordsQueryService(
        base_id=config.airtable_base_id,
        records=record_repository(),
        index=RecordIndex(dynamodb_client(), config.mirror_table_name),
        schemas=table_schema_repository(),
        cursors=CursorCodec(config.airtable_base_id, signing_key),
        aliases=config.table_aliases,
    )


@per_container
def secretsmanager_client() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_AWS_CONFIG)


@per_container
def webhook_repository() -> WebhookRepository:
    from airtable_mirror.repository.webhooks import WebhookRepository

    return WebhookRepository(dynamodb_client(), settings().mirror_table_name)


@per_container
def mac_secret_store() -> MacSecretStore:
    from airtable_mirror.webhooks.secrets import SecretsManagerMacSecretStore, TableMacSecretStore

    config = settings()
    if config.webhook_mac_store == "table":
        return TableMacSecretStore(webhook_repository())
    return SecretsManagerMacSecretStore(secretsmanager_client(), config.webhook_mac_prefix)


@per_container
def drain_queue() -> DrainQueue:
    from airtable_mirror.webhooks.drain_queue import SqsFifoDrainQueue

    config = settings()
    if not config.webhook_queue_url:
        raise ConfigurationError("WEBHOOK_QUEUE_URL is not set")
    return SqsFifoDrainQueue(sqs_client(), config.webhook_queue_url)


@per_container
def full_sync_requests() -> FullSyncRequests:
    from airtable_mirror.webhooks.full_syncs import FullSyncRequests

    return FullSyncRequests(
        base_id=settings().airtable_base_id,
        repository=webhook_repository(),
        runs=sync_run_repository(),
        start_run=lambda table_id: sync_service().start_run(table_id),
    )


@per_container
def payload_applier() -> PayloadApplier:
    from airtable_mirror.webhooks.applier import PayloadApplier

    return PayloadApplier(
        base_id=settings().airtable_base_id,
        client=airtable_client(),
        records=record_repository(),
        schemas=table_schema_repository(),
        full_syncs=full_sync_requests(),
        tombstone_ttl_seconds=settings().tombstone_ttl_seconds,
    )


@per_container
def webhook_drainer() -> WebhookDrainer:
    from airtable_mirror.webhooks.drain import WebhookDrainer

    return WebhookDrainer(
        base_id=settings().airtable_base_id,
        client=airtable_client(),
        repository=webhook_repository(),
        applier=payload_applier(),
        full_syncs=full_sync_requests(),
        lease_seconds=settings().webhook_lease_seconds,
    )


@per_container
def webhook_lifecycle() -> WebhookLifecycle:
    from airtable_mirror.webhooks.lifecycle import WebhookLifecycle

    return WebhookLifecycle(
        base_id=settings().airtable_base_id,
        client=airtable_client(),
        repository=webhook_repository(),
        secrets=mac_secret_store(),
        full_syncs=full_sync_requests() if settings().sync_queue_url else None,
        drain_queue=drain_queue() if settings().webhook_queue_url else None,
    )


@per_container
def push_applier() -> PushApplier:
    from airtable_mirror.webhooks.push import PushApplier

    return PushApplier(
        base_id=settings().airtable_base_id,
        records=record_repository(),
        schemas=table_schema_repository(),
    )


@per_container
def ping_receiver() -> PingReceiver:
    from airtable_mirror.webhooks.receiver import PingReceiver
    from airtable_mirror.webhooks.secrets import make_push_key_provider

    return PingReceiver(
        base_id=settings().airtable_base_id,
        repository=webhook_repository(),
        secrets=mac_secret_store(),
        queue=drain_queue(),
        push=push_applier(),
        push_key=make_push_key_provider(settings()),
    )


def reset() -> None:
    """Forget every cached object (tests, and the local stack when its configuration changes)."""
    get_settings.cache_clear()
    for cached in _CACHED:
        cached.cache_clear()
