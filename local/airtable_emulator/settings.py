"""Every behaviour figure of the emulator, so tests and benchmarks can scale or disable it."""

from dataclasses import dataclass

DAY = 24 * 3600.0


@dataclass
class EmulatorSettings:
    # Rate limits (reference §3): requests in any sliding second, then a penalty for the whole base.
    requests_per_second_per_base: float = 5.0
    requests_per_second_per_token: float = 50.0
    rate_limit_window_seconds: float = 1.0
    rate_limit_penalty_seconds: float = 30.0
    rate_limit_enabled: bool = True
    retry_after_on_429: bool = False  # Airtable does not document Retry-After on 429
    # Monthly quota exhausted: 429 PUBLIC_API_BILLING_LIMIT_EXCEEDED that waiting does not clear.
    billing_limit_exceeded: bool = False
    # Iterator (offset) expiry after this much idle time on the injectable clock (unconfirmed: "minutes").
    iterator_idle_timeout_seconds: float = 300.0
    # URLs of this length or more are rejected (real status unconfirmed; 414 mentioned by pyairtable).
    max_url_length: int = 16_000
    url_too_long_status: int = 414
    # Attachment URLs stop working this long after the response that returned them.
    attachment_url_ttl_seconds: float = 2 * 3600.0
    # Webhooks (reference §6).
    webhook_lifetime_seconds: float = 7 * DAY
    webhook_payload_retention_seconds: float = 7 * DAY
    webhook_expired_readable_seconds: float = 7 * DAY
    max_webhooks_per_base: int = 10
    max_payloads_per_request: int = 50
    # Records per payload before an action is split into several payloads sharing a transaction number.
    max_records_per_payload: int = 100
    ping_timeout_seconds: float = 25.0
    ping_max_retries: int = 13
    ping_first_retry_delay_seconds: float = 10.0  # doubles each retry; tests scale it down
    # Changes within this long of the first one are announced by one ping (Airtable coalesces pings).
    ping_coalesce_seconds: float = 0.1
    # Pings are at-least-once: this share of delivered pings is sent twice (seeded for reproducibility).
    ping_duplicate_rate: float = 0.0
    ping_duplicate_seed: int | None = None
    # Writes.
    max_records_per_write: int = 10
    # Requests (Airtable's real body limit is unpublished; it answers 413 past it).
    max_request_body_bytes: int = 16 * 1024 * 1024
    # GET /v0/meta/bases page size.
    bases_page_size: int = 1000
