"""Client of the Airtable Web API for one base: schema, record listing and webhooks.

Every request is built (token included) before it goes through the pacer, then sent at once. Failures
are handled in one place, :meth:`AirtableClient._send`:

- 429 ``RATE_LIMIT_REACHED``: Airtable refuses the whole base for 30 s, so the client tells the pacer to
  hold everyone off, waits out the full penalty and resends (up to ``max_rate_limited_responses`` 429s
  in one call, then :class:`RateLimitedTooOften`);
- 429 ``PUBLIC_API_BILLING_LIMIT_EXCEEDED``: raised at once (:class:`BillingLimitExceeded`);
- 500/502/503/504, timeouts and dropped connections: exponential backoff with full jitter (tenacity),
  honouring a numeric ``Retry-After``, up to ``max_attempts`` failures, then :class:`AirtableUnavailable`;
- anything else that is not 2xx: the typed error of :mod:`airtable_mirror.airtable.errors`, at once.

The bearer token is read from ``token_provider`` for every request and never appears in logs, errors or
reprs. One client is meant for one thread; a pacer may be shared.
"""

import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote, urlsplit

import requests
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying

from airtable_mirror.airtable.errors import (
    BILLING_LIMIT_EXCEEDED,
    NO_RESPONSE_STATUS,
    RATE_LIMIT_REACHED,
    AirtableAuthError,
    AirtableError,
    AirtableUnavailable,
    BillingLimitExceeded,
    IteratorExpired,
    RateLimitedTooOften,
    TableNotFound,
    UnexpectedResponse,
    error_from_response,
    parse_error_body,
)
from airtable_mirror.airtable.models import (
    AirtableModel,
    AirtableRecord,
    BaseSchema,
    CreatedWebhook,
    PayloadPage,
    RecordPage,
    TableSchema,
    WebhookInfo,
)
from airtable_mirror.airtable.pacing import LocalPacer, Pacer

logger = Logger(child=True)

DEFAULT_API_URL: Final = "https://api.airtable.com"
MAX_URL_LENGTH: Final = 16_000
"""Airtable rejects request URLs of this length or more; listings then go through POST ``listRecords``."""
MAX_PAGE_SIZE: Final = 100
MAX_PAYLOADS_PER_REQUEST: Final = 50
MAX_LISTING_RESTARTS: Final = 5
RETRY_INITIAL_BACKOFF_SECONDS: Final = 0.5
RETRY_MAX_BACKOFF_SECONDS: Final = 20.0
MAX_RETRY_AFTER_SECONDS: Final = 60.0

_RETRYABLE_STATUSES: Final = frozenset({500, 502, 503, 504})
# Airtable documents 502 and 503 as "safe to retry": the request was not carried out.
_SAFE_TO_RESEND_STATUSES: Final = frozenset({502, 503})
_BASE_ID = re.compile(r"app[A-Za-z0-9]{14}")
_RECORD_ID = re.compile(r"rec[A-Za-z0-9]{14}")
_WEBHOOK_ID = re.compile(r"ach[A-Za-z0-9]{14}")
# Printable ASCII without spaces: anything else could not go in a header, and http.client would
# echo the offending value (the token) in its error.
_TOKEN = re.compile(r"[\x21-\x7e]+")
_REDACTED = "[redacted]"
_MAX_DESCRIPTION = 300

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass
class ClientStats:
    """What the client did, for a sync run's result.

    ``requests``: HTTP requests sent (every attempt); ``retries``: requests sent again after a 429 or a
    transient failure; ``rate_limited``: 429 responses received; ``listing_restarts``: listings restarted
    from the first page because their offset expired.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    listing_restarts: int = 0


class _BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header at send time, so that each request (and retry) reads the current
    token; remembers the last token only to scrub it from error texts."""

    def __init__(self, token_provider: Callable[[], str]) -> None:
        self._token_provider = token_provider
        self._lock = threading.Lock()
        self._seen_tokens: list[str] = []

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token_provider()
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise AirtableAuthError(
                NO_RESPONSE_STATUS,
                "INVALID_TOKEN",
                "the token provider returned an empty token or one with characters not allowed in an "
                "HTTP header (value not shown)",
            )
        with self._lock:
            if token not in self._seen_tokens:
                self._seen_tokens = [*self._seen_tokens[-1:], token]
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def scrub(self, text: str) -> str:
        with self._lock:
            tokens = list(self._seen_tokens)
        for token in tokens:
            text = text.replace(token, _REDACTED)
        return text

    def __repr__(self) -> str:
        return "_BearerAuth(token=[redacted])"


class _RetryableFailure(Exception):
    """One attempt failed in a way worth sending the request again; internal to the retry loop."""

    def __init__(
        self,
        status: int,
        error_type: str | None,
        message: str,
        *,
        safe_to_resend: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, error_type, message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.safe_to_resend = safe_to_resend
        self.retry_after = retry_after


class _RateLimited(_RetryableFailure):
    pass


class _TransientFailure(_RetryableFailure):
    pass


@dataclass
class _CallProgress:
    """Counts the failures of one logical call (all of its attempts)."""

    attempts: int = 0
    transient_failures: int = 0
    rate_limited: int = 0


@dataclass(frozen=True)
class _ListOptions:
    page_size: int
    fields: tuple[str, ...] | None
    filter_by_formula: str | None
    return_fields_by_field_id: bool

    @classmethod
    def build(
        cls,
        *,
        page_size: int,
        fields: Sequence[str] | None,
        filter_by_formula: str | None,
        return_fields_by_field_id: bool,
    ) -> "_ListOptions":
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= MAX_PAGE_SIZE
        ):
            raise ValueError(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        field_list: tuple[str, ...] | None = None
        if fields is not None:
            if isinstance(fields, str):
                raise TypeError("fields must be a sequence of field names or ids, not a single string")
            field_list = tuple(fields)
            if not field_list or not all(isinstance(field, str) and field for field in field_list):
                raise ValueError(
                    "fields must be None (all fields) or a non-empty sequence of non-empty strings"
                )
        if filter_by_formula is not None and not isinstance(filter_by_formula, str):
            raise TypeError(f"filter_by_formula must be a string, got {type(filter_by_formula).__name__}")
        return cls(
            page_size=page_size,
            fields=field_list,
            filter_by_formula=filter_by_formula or None,
            return_fields_by_field_id=bool(return_fields_by_field_id),
        )

    def query_params(self, offset: str | None) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = [("pageSize", str(self.page_size))]
        if self.return_fields_by_field_id:
            params.append(("returnFieldsByFieldId", "true"))
        params.extend(("fields[]", field) for field in self.fields or ())
        if self.filter_by_formula is not None:
            params.append(("filterByFormula", self.filter_by_formula))
        if offset is not None:
            params.append(("offset", offset))
        return params

    def json_body(self, offset: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pageSize": self.page_size,
            "returnFieldsByFieldId": self.return_fields_by_field_id,
        }
        if self.fields is not None:
            body["fields"] = list(self.fields)
        if self.filter_by_formula is not None:
            body["filterByFormula"] = self.filter_by_formula
        if offset is not None:
            body["offset"] = offset
        return body


class _WebhookRefresh(AirtableModel):
    expiration_time: datetime | None = None


class AirtableClient:
    """Airtable Web API client bound to one base.

    ``timeout`` applies to connecting and to reading, separately. ``max_attempts`` bounds the attempts
    of one call that fail with 5xx, timeouts or connection errors; ``max_rate_limited_responses`` bounds
    the 429s one call accepts, each followed by ``rate_limit_penalty_seconds`` of waiting. ``sleep`` is
    used for every wait the client does itself (tests inject a recorder). Without a ``pacer``, the client
    paces itself with a :class:`LocalPacer` of its own.
    """

    def __init__(
        self,
        *,
        base_id: str,
        token_provider: Callable[[], str],
        api_url: str = DEFAULT_API_URL,
        pacer: Pacer | None = None,
        timeout: float = 30.0,
        rate_limit_penalty_seconds: float = 30.0,
        max_attempts: int = 6,
        max_rate_limited_responses: int = 10,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(base_id, str) or not _BASE_ID.fullmatch(base_id):
            raise ValueError(f"base_id must be 'app' followed by 14 letters or digits, got {base_id!r}")
        if not callable(token_provider):
            raise TypeError("token_provider must be a callable returning the current token")
        scheme = urlsplit(api_url).scheme if isinstance(api_url, str) else ""
        if scheme not in ("http", "https") or not urlsplit(api_url).netloc:
            raise ValueError(f"api_url must be an http(s) URL, got {api_url!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if not rate_limit_penalty_seconds >= 0:
            raise ValueError(
                f"rate_limit_penalty_seconds must be zero or positive, got {rate_limit_penalty_seconds!r}"
            )
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        if max_rate_limited_responses < 1:
            raise ValueError(
                f"max_rate_limited_responses must be at least 1, got {max_rate_limited_responses!r}"
            )
        self.base_id = base_id
        self.api_url = api_url.rstrip("/")
        self.stats = ClientStats()
        self._auth = _BearerAuth(token_provider)
        self._pacer: Pacer = pacer if pacer is not None else LocalPacer()
        self._timeout = (float(timeout), float(timeout))
        self._rate_limit_penalty = float(rate_limit_penalty_seconds)
        self._max_attempts = max_attempts
        self._max_rate_limited = max_rate_limited_responses
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"AirtableClient(base_id={self.base_id!r}, api_url={self.api_url!r})"

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> "AirtableClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Schema

    def get_base_schema(self) -> BaseSchema:
        """Every table of the base with its fields and views (needs the ``schema.bases:read`` scope)."""
        data = self._request_json("GET", ("v0", "meta", "bases", self.base_id, "tables"))
        return self._parse(BaseSchema, data, "GET", ("v0", "meta", "bases", self.base_id, "tables"))

    def resolve_table(self, name_or_id: str, *, schema: BaseSchema | None = None) -> TableSchema:
        """Find a table by id, by exact name, or by a name that matches exactly one table ignoring case.

        Reads the schema from Airtable unless ``schema`` is given. Raises :class:`TableNotFound`.
        """
        if not isinstance(name_or_id, str) or not name_or_id:
            raise ValueError(f"a table name or id is required, got {name_or_id!r}")
        tables = (schema if schema is not None else self.get_base_schema()).tables
        for table in tables:
            if table.id == name_or_id:
                return table
        for table in tables:
            if table.name == name_or_id:
                return table
        folded = name_or_id.casefold()
        matches = [table for table in tables if table.name.casefold() == folded]
        if len(matches) == 1:
            return matches[0]
        available = [f"{table.name} ({table.id})" for table in tables]
        if matches:
            reason = "several tables match (ignoring case)"
            available = [f"{table.name} ({table.id})" for table in matches]
            raise TableNotFound(self.base_id, name_or_id, reason, available)
        raise TableNotFound(self.base_id, name_or_id, "no table named or with id", available)

    # Records

    def list_records_page(
        self,
        table_id: str,
        *,
        offset: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        fields: Sequence[str] | None = None,
        filter_by_formula: str | None = None,
        return_fields_by_field_id: bool = True,
    ) -> RecordPage:
        """One page of the table's records, starting at ``offset`` (``None``: the first page).

        Sent as GET; as POST ``…/listRecords`` with a JSON body when the GET URL would reach
        :data:`MAX_URL_LENGTH` characters. Raises :class:`IteratorExpired` when the offset expired.
        """
        options = _ListOptions.build(
            page_size=page_size,
            fields=fields,
            filter_by_formula=filter_by_formula,
            return_fields_by_field_id=return_fields_by_field_id,
        )
        _check_table(table_id)
        _check_offset(offset)
        return self._list_page(table_id, options, offset)

    def iter_record_pages(
        self,
        table_id: str,
        *,
        start_offset: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        fields: Sequence[str] | None = None,
        filter_by_formula: str | None = None,
        return_fields_by_field_id: bool = True,
        max_listing_restarts: int = MAX_LISTING_RESTARTS,
    ) -> Iterator[RecordPage]:
        """Every page of the listing, from ``start_offset`` (or the first page) to the last.

        When Airtable reports the offset expired (422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``), the
        listing starts over from the first page, at most ``max_listing_restarts`` times per call, then
        :class:`IteratorExpired` is raised. Pages already yielded come again after a restart, so the
        consumer must be idempotent; the first page after a restart has ``after_restart=True``.
        """
        options = _ListOptions.build(
            page_size=page_size,
            fields=fields,
            filter_by_formula=filter_by_formula,
            return_fields_by_field_id=return_fields_by_field_id,
        )
        _check_table(table_id)
        _check_offset(start_offset)
        if isinstance(max_listing_restarts, bool) or not isinstance(max_listing_restarts, int):
            raise TypeError("max_listing_restarts must be an integer")
        if max_listing_restarts < 0:
            raise ValueError(f"max_listing_restarts must be zero or positive, got {max_listing_restarts}")
        return self._iter_pages(table_id, options, start_offset, max_listing_restarts)

    def list_records_by_ids(
        self,
        table_id: str,
        record_ids: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
        return_fields_by_field_id: bool = True,
    ) -> list[AirtableRecord]:
        """The records with these ids that still exist, in the order the ids were given.

        One listing per 100 ids, filtered with ``OR(RECORD_ID()='rec…',…)``; ids are validated first so
        nothing but a record id can reach the formula. Missing (deleted) records are simply absent.
        """
        if isinstance(record_ids, str):
            raise TypeError("record_ids must be a sequence of record ids, not a single string")
        wanted = list(dict.fromkeys(record_ids))
        invalid = [
            record_id
            for record_id in wanted
            if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id)
        ]
        if invalid:
            shown = ", ".join(repr(record_id) for record_id in invalid[:5])
            raise ValueError(f"not Airtable record ids ('rec' followed by 14 letters or digits): {shown}")
        _check_table(table_id)
        found: dict[str, AirtableRecord] = {}
        for start in range(0, len(wanted), MAX_PAGE_SIZE):
            chunk = wanted[start : start + MAX_PAGE_SIZE]
            formula = "OR(" + ",".join(f"RECORD_ID()='{record_id}'" for record_id in chunk) + ")"
            for page in self.iter_record_pages(
                table_id,
                fields=fields,
                filter_by_formula=formula,
                return_fields_by_field_id=return_fields_by_field_id,
            ):
                found.update((record.id, record) for record in page.records)
        return [found[record_id] for record_id in wanted if record_id in found]

    # Webhooks

    def create_webhook(
        self, notification_url: str | None, specification: Mapping[str, Any]
    ) -> CreatedWebhook:
        """Create a webhook; the returned MAC secret is never shown again by Airtable.

        Not retried after a timeout, a dropped connection, 500 or 504, since the webhook may exist
        anyway: list the webhooks before trying again.
        """
        if notification_url is not None and (not isinstance(notification_url, str) or not notification_url):
            raise ValueError("notification_url must be a non-empty URL or None")
        if not isinstance(specification, Mapping) or not isinstance(specification.get("options"), Mapping):
            raise ValueError('specification must be a mapping with an "options" mapping')
        body: dict[str, Any] = {"specification": dict(specification)}
        if notification_url is not None:
            body["notificationUrl"] = notification_url
        path = ("v0", "bases", self.base_id, "webhooks")
        data = self._request_json("POST", path, json_body=body, idempotent=False)
        return self._parse(CreatedWebhook, data, "POST", path)

    def list_webhooks(self) -> list[WebhookInfo]:
        path = ("v0", "bases", self.base_id, "webhooks")
        data = self._request_json("GET", path)
        webhooks = data.get("webhooks") if isinstance(data, dict) else None
        if not isinstance(webhooks, list):
            raise self._unexpected("GET", path, 'no "webhooks" list in the response')
        return [self._parse(WebhookInfo, webhook, "GET", path) for webhook in webhooks]

    def refresh_webhook(self, webhook_id: str) -> datetime | None:
        """Extend the webhook's life to 7 days from now; returns the new expiration time."""
        path = ("v0", "bases", self.base_id, "webhooks", _check_webhook_id(webhook_id), "refresh")
        data = self._request_json("POST", path)
        return self._parse(_WebhookRefresh, data, "POST", path).expiration_time

    def enable_webhook_notifications(self, webhook_id: str, enable: bool) -> None:
        """Turn pings on or off (Airtable turns them off itself after a ping failed for about a day)."""
        if not isinstance(enable, bool):
            raise TypeError("enable must be True or False")
        path = ("v0", "bases", self.base_id, "webhooks", _check_webhook_id(webhook_id), "enableNotifications")
        self._request_json("POST", path, json_body={"enable": enable})

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete the webhook. An unknown id raises :class:`AirtableNotFound`, which can also mean that
        an attempt whose response was lost already deleted it."""
        path = ("v0", "bases", self.base_id, "webhooks", _check_webhook_id(webhook_id))
        self._request_json("DELETE", path)

    def list_webhook_payloads(
        self, webhook_id: str, cursor: int, limit: int = MAX_PAYLOADS_PER_REQUEST
    ) -> PayloadPage:
        """Payloads from number ``cursor`` on, at most ``limit``; also extends the webhook's life."""
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 1:
            raise ValueError(f"cursor must be an integer of at least 1, got {cursor!r}")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_PAYLOADS_PER_REQUEST
        ):
            raise ValueError(f"limit must be an integer from 1 to {MAX_PAYLOADS_PER_REQUEST}, got {limit!r}")
        path = ("v0", "bases", self.base_id, "webhooks", _check_webhook_id(webhook_id), "payloads")
        data = self._request_json("GET", path, params=[("cursor", str(cursor)), ("limit", str(limit))])
        return self._parse(PayloadPage, data, "GET", path)

    # Internals

    def _list_page(self, table_id: str, options: _ListOptions, offset: str | None) -> RecordPage:
        path = ("v0", self.base_id, table_id)
        params = options.query_params(offset)
        prepared_url = requests.Request("GET", self._url(path), params=params).prepare().url or ""
        if len(prepared_url) >= MAX_URL_LENGTH:
            post_path = (*path, "listRecords")
            data = self._request_json("POST", post_path, json_body=options.json_body(offset))
            return self._parse(RecordPage, data, "POST", post_path)
        data = self._request_json("GET", path, params=params)
        return self._parse(RecordPage, data, "GET", path)

    def _iter_pages(
        self, table_id: str, options: _ListOptions, offset: str | None, max_restarts: int
    ) -> Iterator[RecordPage]:
        restarts = 0
        after_restart = False
        while True:
            try:
                page = self._list_page(table_id, options, offset)
            except IteratorExpired as expired:
                if offset is None:
                    raise
                if restarts >= max_restarts:
                    raise IteratorExpired(
                        expired.status,
                        expired.error_type,
                        f"{expired.message} (the listing was already restarted {restarts} times)",
                        method=expired.method,
                        path=expired.path,
                    ) from None
                restarts += 1
                self.stats.listing_restarts += 1
                logger.warning(
                    "Airtable listing offset expired; restarting the listing from the first page",
                    table_id=table_id,
                    restart=restarts,
                )
                offset = None
                after_restart = True
                continue
            if after_restart:
                page = page.model_copy(update={"after_restart": True})
                after_restart = False
            if page.offset is not None and page.offset == offset:
                raise self._unexpected(
                    "GET", ("v0", self.base_id, table_id), f"the next offset is the one sent ({offset!r})"
                )
            yield page
            if page.offset is None:
                return
            offset = page.offset

    def _url(self, path: Sequence[str]) -> str:
        return self.api_url + _path_text(path)

    def _request_json(
        self,
        method: Literal["GET", "POST", "DELETE"],
        path: Sequence[str],
        *,
        params: list[tuple[str, str]] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> Any:
        response = self._send(method, path, params=params, json_body=json_body, idempotent=idempotent)
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise self._unexpected(
                method, path, "the response body is not JSON", response.status_code
            ) from None

    def _send(
        self,
        method: str,
        path: Sequence[str],
        *,
        params: list[tuple[str, str]] | None,
        json_body: Mapping[str, Any] | None,
        idempotent: bool,
    ) -> requests.Response:
        """Send with pacing and retries; return a 2xx response or raise an :class:`AirtableError`."""
        path_text = _path_text(path)
        url = self.api_url + path_text
        progress = _CallProgress()

        def attempt() -> requests.Response:
            # Everything but the sending is done before the slot is taken: a slot is good for only a
            # few milliseconds (see pacing.py), and building the request or reading the token (maybe
            # from Secrets Manager) must not eat into it. Each attempt reads the token again.
            prepared, send_settings = self._prepare(method, url, path_text, params, json_body)
            self._pacer.acquire()
            progress.attempts += 1
            self.stats.requests += 1
            # The failure is raised after the try statement so that no requests exception (which
            # holds the request and its Authorization header) gets chained to it.
            failure: _TransientFailure | AirtableError
            try:
                response = self._session.send(prepared, timeout=self._timeout, **send_settings)
            except requests.ConnectTimeout as error:
                failure = self._transport_failure("CONNECT_TIMEOUT", error, safe_to_resend=True)
            except requests.Timeout as error:
                failure = self._transport_failure("READ_TIMEOUT", error, safe_to_resend=False)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                failure = self._transport_failure("CONNECTION_ERROR", error, safe_to_resend=False)
            except requests.RequestException as error:
                failure = AirtableError(
                    NO_RESPONSE_STATUS, "REQUEST_FAILED", self._describe(error), method=method, path=path_text
                )
            else:
                return self._check_response(response, method, path_text, progress)
            if isinstance(failure, _TransientFailure):
                progress.transient_failures += 1
            raise failure

        retrying = Retrying(
            sleep=self._sleep,
            retry=lambda state: self._should_retry(state, idempotent),
            stop=lambda state: self._should_stop(state, progress),
            wait=lambda state: self._wait_seconds(state, progress),
            before_sleep=lambda state: self._before_retry(state, method, path_text),
            reraise=True,
        )
        final_failure: _RetryableFailure
        try:
            return retrying(attempt)
        except _RetryableFailure as failure:
            final_failure = failure
        raise self._give_up(final_failure, method, path_text, progress, idempotent)

    def _prepare(
        self,
        method: str,
        url: str,
        path_text: str,
        params: list[tuple[str, str]] | None,
        json_body: Mapping[str, Any] | None,
    ) -> tuple[requests.PreparedRequest, dict[str, Any]]:
        """The request as ``Session.request`` would send it (the session's headers, cookies and hooks,
        the current token through ``_BearerAuth``) and the keyword arguments for ``Session.send``
        (timeout aside: redirects, and the environment's proxies and CA bundle). Sends nothing."""
        failure: AirtableError
        try:
            request = requests.Request(
                method=method.upper(), url=url, data={}, json=json_body, params=params or {}, auth=self._auth
            )
            prepared = self._session.prepare_request(request)
            settings = self._session.merge_environment_settings(prepared.url, {}, None, None, None)
        except requests.RequestException as error:
            # Raised after the try statement, like the send's failures, so nothing is chained to it.
            failure = AirtableError(
                NO_RESPONSE_STATUS, "REQUEST_FAILED", self._describe(error), method=method, path=path_text
            )
        else:
            return prepared, {"allow_redirects": True, **settings}
        raise failure

    def _check_response(
        self, response: requests.Response, method: str, path_text: str, progress: _CallProgress
    ) -> requests.Response:
        status = response.status_code
        if 200 <= status < 300:
            return response
        body = self._auth.scrub(response.text)
        error_type, message = parse_error_body(body)
        if status == 429 and error_type != BILLING_LIMIT_EXCEEDED:
            progress.rate_limited += 1
            self.stats.rate_limited += 1
            # Airtable refuses the whole base (not just this sender) for the penalty period.
            self._pacer.hold_off(self._rate_limit_penalty)
            logger.warning(
                "Airtable rate limit reached; holding off every request to the base",
                method=method,
                path=path_text,
                status=status,
                attempt=progress.attempts,
                penalty_seconds=self._rate_limit_penalty,
            )
            raise _RateLimited(
                status,
                error_type or RATE_LIMIT_REACHED,
                message or "rate limit exceeded",
                safe_to_resend=True,
            )
        if status in _RETRYABLE_STATUSES:
            progress.transient_failures += 1
            failure = error_from_response(status, body)
            raise _TransientFailure(
                status,
                failure.error_type,
                failure.message,
                safe_to_resend=status in _SAFE_TO_RESEND_STATUSES,
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        error = error_from_response(status, body, method=method, path=path_text)
        # A spent billing quota stops every sync until next month: worth an alarm, unlike a 404.
        log = logger.error if isinstance(error, BillingLimitExceeded) else logger.info
        log(
            "Airtable refused the request",
            method=method,
            path=path_text,
            status=status,
            error_type=error.error_type,
            attempt=progress.attempts,
        )
        raise error

    def _transport_failure(
        self, error_type: str, error: requests.RequestException, *, safe_to_resend: bool
    ) -> _TransientFailure:
        return _TransientFailure(
            NO_RESPONSE_STATUS, error_type, self._describe(error), safe_to_resend=safe_to_resend
        )

    def _describe(self, error: Exception) -> str:
        text = self._auth.scrub(f"{type(error).__name__}: {error}")
        return text if len(text) <= _MAX_DESCRIPTION else text[:_MAX_DESCRIPTION] + "…"

    @staticmethod
    def _should_retry(state: RetryCallState, idempotent: bool) -> bool:
        failure = state.outcome.exception() if state.outcome is not None else None
        if not isinstance(failure, _RetryableFailure):
            return False
        return idempotent or failure.safe_to_resend

    def _should_stop(self, state: RetryCallState, progress: _CallProgress) -> bool:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _RateLimited):
            return progress.rate_limited >= self._max_rate_limited
        return progress.transient_failures >= self._max_attempts

    def _wait_seconds(self, state: RetryCallState, progress: _CallProgress) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _RateLimited):
            return self._rate_limit_penalty
        if isinstance(failure, _TransientFailure) and failure.retry_after is not None:
            return min(failure.retry_after, MAX_RETRY_AFTER_SECONDS)
        # Full jitter over a window that doubles with each transient failure of this call.
        exponent = max(0, progress.transient_failures - 1)
        window = min(RETRY_MAX_BACKOFF_SECONDS, RETRY_INITIAL_BACKOFF_SECONDS * 2**exponent)
        return random.uniform(0, window)

    def _before_retry(self, state: RetryCallState, method: str, path_text: str) -> None:
        self.stats.retries += 1
        failure = state.outcome.exception() if state.outcome is not None else None
        wait = state.upcoming_sleep
        if isinstance(failure, _RateLimited):
            logger.info(
                "Waiting out the Airtable rate-limit penalty before resending",
                method=method,
                path=path_text,
                status=failure.status,
                attempt=state.attempt_number,
                wait_seconds=round(wait, 3),
            )
        elif isinstance(failure, _RetryableFailure):
            logger.warning(
                "Airtable request failed; retrying",
                method=method,
                path=path_text,
                status=failure.status,
                error_type=failure.error_type,
                attempt=state.attempt_number,
                wait_seconds=round(wait, 3),
            )

    def _give_up(
        self,
        failure: _RetryableFailure,
        method: str,
        path_text: str,
        progress: _CallProgress,
        idempotent: bool,
    ) -> AirtableError:
        if isinstance(failure, _RateLimited):
            logger.error(
                "Airtable kept rate limiting; giving up",
                method=method,
                path=path_text,
                rate_limited=progress.rate_limited,
            )
            return RateLimitedTooOften(
                failure.status,
                failure.error_type,
                f"{failure.message} ({progress.rate_limited} rate-limited responses in a row, "
                f"with a {self._rate_limit_penalty:g} s wait between them)",
                method=method,
                path=path_text,
            )
        if not idempotent and not failure.safe_to_resend:
            detail = "not retried: the request may have been carried out; check before sending it again"
        else:
            detail = f"gave up after {progress.attempts} attempts"
        logger.error(
            "Airtable request failed",
            method=method,
            path=path_text,
            status=failure.status,
            error_type=failure.error_type,
            attempt=progress.attempts,
        )
        return AirtableUnavailable(
            failure.status, failure.error_type, f"{failure.message} ({detail})", method=method, path=path_text
        )

    def _parse(self, model: type[_Model], data: Any, method: str, path: Sequence[str]) -> _Model:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
                for problem in error.errors(include_url=False, include_input=False)[:5]
            )
            raise self._unexpected(method, path, f"unexpected {model.__name__} shape: {problems}") from None

    def _unexpected(
        self, method: str, path: Sequence[str], message: str, status: int = 200
    ) -> UnexpectedResponse:
        return UnexpectedResponse(
            status, "UNEXPECTED_RESPONSE", message, method=method, path=_path_text(path)
        )


def _path_text(path: Sequence[str]) -> str:
    return "/" + "/".join(quote(segment, safe="") for segment in path)


def _check_table(table_id: str) -> None:
    if not isinstance(table_id, str) or not table_id:
        raise ValueError(f"a table id (or name) is required, got {table_id!r}")


def _check_offset(offset: str | None) -> None:
    if offset is not None and (not isinstance(offset, str) or not offset):
        raise ValueError(f"offset must be None or the non-empty string Airtable returned, got {offset!r}")


def _check_webhook_id(webhook_id: str) -> str:
    if not isinstance(webhook_id, str) or not _WEBHOOK_ID.fullmatch(webhook_id):
        raise ValueError(f"webhook id must be 'ach' followed by 14 letters or digits, got {webhook_id!r}")
    return webhook_id


def _retry_after_seconds(header: str | None) -> float | None:
    """Seconds of a numeric Retry-After header; HTTP dates and garbage are ignored."""
    if header is None:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds
