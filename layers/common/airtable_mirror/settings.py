"""Configuration, read once per warm container from the environment and validated.

Every function reads the same variables (set once in template.yaml's Globals); a bad value fails the
cold start with a message naming the variable, never a request halfway through.

The values are validated by pydantic's core against the schema a pydantic model of these fields
generates, written out in `_validator`: the same checks, conversions and messages, without defining
a model at import (which built that schema from the annotations on every cold start, about 4 ms of
each function's). tests/layers/common/airtable_mirror/test_settings.py keeps that model and checks
that both agree.
"""

import os
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as schema

BASE_ID_PATTERN = r"^app[A-Za-z0-9]{14}$"


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable deployment."""


def parse_mapping(text: str) -> dict[str, str]:
    """``"people=People, tasks=tblXXXX"`` → ``{"people": "People", "tasks": "tblXXXX"}``."""
    mapping: dict[str, str] = {}
    for part in filter(None, (chunk.strip() for chunk in text.split(","))):
        alias, separator, target = part.partition("=")
        if not separator or not alias.strip() or not target.strip():
            raise ValueError(f"expected alias=table pairs separated by commas, got {part!r}")
        mapping[alias.strip().lower()] = target.strip()
    return mapping


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# Settings field -> the environment variable that sets it, when set and not empty.
OPTIONAL_VARIABLES = {
    "airtable_api_url": "AIRTABLE_API_URL",
    "airtable_token_secret": "AIRTABLE_TOKEN_SECRET",
    "sync_queue_url": "SYNC_QUEUE_URL",
    "dynamodb_endpoint_url": "DYNAMODB_ENDPOINT_URL",
    "requests_per_second": "AIRTABLE_REQUESTS_PER_SECOND",
    "rate_limit_penalty_seconds": "AIRTABLE_RATE_LIMIT_PENALTY_SECONDS",
    "request_timeout_seconds": "AIRTABLE_REQUEST_TIMEOUT_SECONDS",
    "handover_margin_seconds": "SYNC_HANDOVER_MARGIN_SECONDS",
    "tombstone_ttl_seconds": "TOMBSTONE_TTL_SECONDS",
    "webhook_queue_url": "WEBHOOK_QUEUE_URL",
    "webhook_mac_store": "WEBHOOK_MAC_STORE",
    "webhook_mac_prefix": "WEBHOOK_MAC_PREFIX",
    "webhook_push_secret": "WEBHOOK_PUSH_SECRET",
    "webhook_lease_seconds": "WEBHOOK_LEASE_SECONDS",
    "cursor_signing_secret": "CURSOR_SIGNING_SECRET",
    "cursor_signing_key": "CURSOR_SIGNING_KEY",
}


class Settings(NamedTuple):
    """The deployment's configuration, immutable; `from_environment` builds it, every value checked."""

    mirror_table_name: str
    airtable_base_id: str
    airtable_api_url: str = "https://api.airtable.com"
    # Name or ARN of the Secrets Manager secret holding the token (AWS); None means a local token.
    airtable_token_secret: str | None = None
    table_aliases: dict[str, str] = {}  # noqa: RUF012 - from_environment always gives a new one
    sync_tables: list[str] = []  # noqa: RUF012 - likewise
    sync_queue_url: str | None = None
    dynamodb_endpoint_url: str | None = None
    requests_per_second: float = 5.0
    rate_limit_penalty_seconds: float = 30.0
    request_timeout_seconds: float = 30.0
    # A sync invocation hands its run over to a new one when less than this much time is left.
    handover_margin_seconds: float = 60.0
    tombstone_ttl_seconds: int = 14 * 24 * 3600
    # Webhooks (docs/webhooks.md). The FIFO queue between the receiver and the worker:
    webhook_queue_url: str | None = None
    # Where webhook MAC secrets live: Secrets Manager (AWS) or the mirror table (local stack, tests).
    webhook_mac_store: Literal["secretsmanager", "table"] = "secretsmanager"
    webhook_mac_prefix: str = "airtable-mirror/webhooks/"
    # Name or ARN of the secret holding WEBHOOK_SECRET (seed push format); unset: WEBHOOK_SECRET locally.
    webhook_push_secret: str | None = None
    # A drain holds its webhook this long at most; a crashed drain's webhook is free again after it.
    webhook_lease_seconds: float = 120.0
    # Records API page cursors are signed with this Secrets Manager secret (AWS), or with the local
    # key (development; a built-in development key when neither is set).
    cursor_signing_secret: str | None = None
    cursor_signing_key: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {
            "mirror_table_name": env.get("MIRROR_TABLE_NAME", ""),
            "airtable_base_id": env.get("AIRTABLE_BASE_ID", ""),
            "table_aliases": {},
            "sync_tables": [],
        }
        for key, variable in OPTIONAL_VARIABLES.items():
            if env.get(variable):
                raw[key] = env[variable]
        try:
            if env.get("TABLE_ALIASES"):
                raw["table_aliases"] = parse_mapping(env["TABLE_ALIASES"])
            if env.get("SYNC_TABLES"):
                raw["sync_tables"] = parse_list(env["SYNC_TABLES"])
            return cls(**_validator().validate_python(raw))
        except (ValidationError, ValueError) as error:
            raise ConfigurationError(f"invalid configuration: {error}") from None


def _api_url(value: str) -> str:
    if not re.match(r"^https?://", value):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


@cache
def _validator() -> SchemaValidator:
    """Built by the first read of the configuration (pydantic's core compiles it in well under 1 ms)."""

    def optional(value: schema.CoreSchema) -> schema.TypedDictField:
        return schema.typed_dict_field(value, required=False)

    text = schema.str_schema()
    fields = {
        "mirror_table_name": schema.typed_dict_field(schema.str_schema(min_length=3)),
        "airtable_base_id": schema.typed_dict_field(schema.str_schema(pattern=BASE_ID_PATTERN)),
        "airtable_api_url": optional(schema.no_info_after_validator_function(_api_url, text)),
        "airtable_token_secret": optional(text),
        "table_aliases": optional(schema.dict_schema(text, text)),
        "sync_tables": optional(schema.list_schema(text)),
        "sync_queue_url": optional(text),
        "dynamodb_endpoint_url": optional(text),
        "requests_per_second": optional(schema.float_schema(gt=0, le=50)),
        "rate_limit_penalty_seconds": optional(schema.float_schema(ge=0)),
        "request_timeout_seconds": optional(schema.float_schema(gt=0)),
        "handover_margin_seconds": optional(schema.float_schema(ge=1)),
        "tombstone_ttl_seconds": optional(schema.int_schema(ge=3600)),
        "webhook_queue_url": optional(text),
        "webhook_mac_store": optional(schema.literal_schema(["secretsmanager", "table"])),
        "webhook_mac_prefix": optional(schema.str_schema(pattern=r"^[A-Za-z0-9/_+=.@-]{0,256}$")),
        "webhook_push_secret": optional(text),
        "webhook_lease_seconds": optional(schema.float_schema(ge=5)),
        "cursor_signing_secret": optional(text),
        "cursor_signing_key": optional(schema.str_schema(min_length=16)),
    }
    return SchemaValidator(schema.typed_dict_schema(fields, cls_name="Settings", extra_behavior="forbid"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (comments, blank lines and ``export`` tolerated)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.removeprefix("export ").strip()
        key, separator, value = stripped.partition("=")
        if separator:
            values[key.strip()] = value.strip().strip("'\"")
    return values
