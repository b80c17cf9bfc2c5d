"""Settings.from_environment: every variable's check, against the pydantic model it replaced.

`Settings` below is the model settings.py used to be (defining it cost every cold start about 4 ms);
`settings.Settings` is what replaced it. For each environment of the table, both must accept it with
the same values, or refuse it with the same message.
"""

import re
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airtable_mirror import settings
from airtable_mirror.settings import (
    BASE_ID_PATTERN,
    OPTIONAL_VARIABLES,
    ConfigurationError,
    get_settings,
    parse_list,
    parse_mapping,
)


class Settings(BaseModel):  # named so, as pydantic's messages name the model
    model_config = ConfigDict(frozen=True, extra="forbid")

    mirror_table_name: Annotated[str, Field(min_length=3)]
    airtable_base_id: Annotated[str, Field(pattern=BASE_ID_PATTERN)]
    airtable_api_url: str = "https://api.airtable.com"
    airtable_token_secret: str | None = None
    table_aliases: dict[str, str] = {}
    sync_tables: list[str] = []
    sync_queue_url: str | None = None
    dynamodb_endpoint_url: str | None = None
    requests_per_second: Annotated[float, Field(gt=0, le=50)] = 5.0
    rate_limit_penalty_seconds: Annotated[float, Field(ge=0)] = 30.0
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    handover_margin_seconds: Annotated[float, Field(ge=1)] = 60.0
    tombstone_ttl_seconds: Annotated[int, Field(ge=3600)] = 14 * 24 * 3600
    webhook_queue_url: str | None = None
    webhook_mac_store: Literal["secretsmanager", "table"] = "secretsmanager"
    webhook_mac_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9/_+=.@-]{0,256}$")] = (
        "airtable-mirror/webhooks/"
    )
    webhook_push_secret: str | None = None
    webhook_lease_seconds: Annotated[float, Field(ge=5)] = 120.0
    cursor_signing_secret: str | None = None
    cursor_signing_key: Annotated[str, Field(min_length=16)] | None = None

    @field_validator("airtable_api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


VARIABLES = OPTIONAL_VARIABLES


def reference(env: dict[str, str]) -> tuple[str, Any]:
    """What settings.py made of `env` with the pydantic model: its values, or the error's message."""
    raw: dict[str, object] = {
        "mirror_table_name": env.get("MIRROR_TABLE_NAME", ""),
        "airtable_base_id": env.get("AIRTABLE_BASE_ID", ""),
    }
    raw |= {key: env[variable] for key, variable in VARIABLES.items() if env.get(variable)}
    try:
        if env.get("TABLE_ALIASES"):
            raw["table_aliases"] = parse_mapping(env["TABLE_ALIASES"])
        if env.get("SYNC_TABLES"):
            raw["sync_tables"] = parse_list(env["SYNC_TABLES"])
        return "values", Settings.model_validate(raw).model_dump()
    except (ValidationError, ValueError) as error:
        return "error", f"invalid configuration: {error}"


def parsed(env: dict[str, str]) -> tuple[str, Any]:
    """The same from what replaced it."""
    try:
        return "values", settings.Settings.from_environment(env)._asdict()
    except ConfigurationError as error:
        return "error", str(error)


VALID = {"MIRROR_TABLE_NAME": "airtable-mirror", "AIRTABLE_BASE_ID": "appABCDEFGHIJ0123"}

CASES: list[dict[str, str]] = [
    {},
    {"MIRROR_TABLE_NAME": ""},
    {"MIRROR_TABLE_NAME": "ab"},
    {"MIRROR_TABLE_NAME": "abc"},
    {"AIRTABLE_BASE_ID": ""},
    {"AIRTABLE_BASE_ID": "app123"},
    {"AIRTABLE_BASE_ID": "appABCDEFGHIJ0123\n"},
    {"AIRTABLE_BASE_ID": "tblABCDEFGHIJ0123"},
    {"MIRROR_TABLE_NAME": "", "AIRTABLE_BASE_ID": "", "WEBHOOK_LEASE_SECONDS": "1", "WEBHOOK_MAC_STORE": "x"},
    *({"AIRTABLE_API_URL": url} for url in ("http://127.0.0.1:8111/", "https://x//", "ftp://x", "HTTP://x")),
    *(
        {"AIRTABLE_REQUESTS_PER_SECOND": number}
        for number in (
            *("5", " 5 ", "5\n", "\u00a05", "5.", ".5", "+5", "1e1", "1E-1", "1_0", "50"),
            "4.99999999999999999",
            *("0", "-1", "50.0001", "1e400", "inf", "-inf", "nan", "Infinity"),
            *("", "abc", "0x10", "1__0", "_1", "5.0.0", "5e", "\u0665"),
        )
    ),
    *({"AIRTABLE_RATE_LIMIT_PENALTY_SECONDS": n} for n in ("0", "-0", "inf", "INF", "-inf", "nan", "-1")),
    *({"AIRTABLE_REQUEST_TIMEOUT_SECONDS": n} for n in ("0.1", "0", "-0.5")),
    *({"SYNC_HANDOVER_MARGIN_SECONDS": n} for n in ("1", "0.99")),
    *(
        {"TOMBSTONE_TTL_SECONDS": number}
        for number in (
            *("3600", " 3600 ", "3600\t", "+3600", "03600", "3_600", "36_00_0"),
            *("3600.0", "3600.00", " 3600.0 "),
            *("3_600.0", "99999999999999999999999", "3599", "-0", "-3600.0", "100"),
            *("3600.", "3600.5", "3600.0_0", "3600 .0", "3.6e3", "1e4", ".0", "0x1000", "0b1", "+", "abc"),
            "\u0663\u0666\u0660\u0660",
        )
    ),
    *({"WEBHOOK_MAC_STORE": store} for store in ("table", "secretsmanager", "TABLE", "x")),
    *({"WEBHOOK_MAC_PREFIX": prefix} for prefix in ("a/b_c+=.@-", "a b", "x" * 256, "x" * 257, "é", "a\n")),
    *({"WEBHOOK_LEASE_SECONDS": n} for n in ("5", "4.9")),
    *({"CURSOR_SIGNING_KEY": key} for key in ("x" * 16, "é" * 16, "x" * 15)),
    {"CURSOR_SIGNING_SECRET": "cursor", "AIRTABLE_TOKEN_SECRET": "token", "WEBHOOK_PUSH_SECRET": "push"},
    {
        "SYNC_QUEUE_URL": "https://sqs/q",
        "WEBHOOK_QUEUE_URL": "https://sqs/w",
        "DYNAMODB_ENDPOINT_URL": "http://x",
    },
    {"TABLE_ALIASES": "People = People , tasks=tblT4sks000000001,,", "SYNC_TABLES": "People, Tasks,,"},
    *({"TABLE_ALIASES": aliases} for aliases in ("people", "a=b,=b", "a=", " , ")),
]


@pytest.mark.parametrize("variables", CASES, ids=repr)
def test_settings_accept_and_refuse_what_the_pydantic_model_did(variables: dict[str, str]) -> None:
    """The same values, or the same message (pydantic's, every field at fault)."""
    env = VALID | variables

    assert parsed(env) == reference(env)


def test_an_unset_or_empty_optional_variable_keeps_its_default() -> None:
    read = settings.Settings.from_environment(
        VALID | {"AIRTABLE_REQUESTS_PER_SECOND": "", "TABLE_ALIASES": ""}
    )

    defaults = Settings(
        mirror_table_name=VALID["MIRROR_TABLE_NAME"], airtable_base_id=VALID["AIRTABLE_BASE_ID"]
    )
    assert read._asdict() == defaults.model_dump()
    assert read.table_aliases is not settings.Settings.from_environment(VALID).table_aliases  # not shared


def test_the_message_names_each_field_at_fault_and_its_value() -> None:
    env = VALID | {"MIRROR_TABLE_NAME": "ab", "TOMBSTONE_TTL_SECONDS": "60"}

    with pytest.raises(ConfigurationError) as raised:
        settings.Settings.from_environment(env)

    message = str(raised.value)
    assert message.startswith("invalid configuration: 2 validation errors for Settings\nmirror_table_name\n")
    assert "String should have at least 3 characters [type=string_too_short, input_value='ab'" in message
    assert "\ntombstone_ttl_seconds\n  Input should be greater than or equal to 3600" in message


def test_settings_are_immutable_and_read_once_per_container(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        first = get_settings()
        with pytest.raises(AttributeError):
            first.mirror_table_name = "other"  # type: ignore[misc]
        monkeypatch.setenv("MIRROR_TABLE_NAME", "changed")
        assert get_settings() is first
    finally:
        get_settings.cache_clear()
