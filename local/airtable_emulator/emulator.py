"""The emulator as tests, benchmarks and the local stack use it: state, HTTP server, knobs.

with Emulator(seed=1) as emulator:
    build_demo_base(emulator.state)
    api = pyairtable.Api(emulator.token, endpoint_url=emulator.url)
"""

import threading
from types import TracebackType
from typing import Self

from .attachments import AttachmentUrls
from .clock import Clock
from .faults import FaultInjector
from .listing import RecordReader
from .model import AirtableState
from .ratelimit import RateLimiter
from .rest import MetadataApi, RecordsApi
from .server import ALL_SCOPES, ApiApp, ApiServer
from .settings import EmulatorSettings
from .webhooks import WebhookService

DEFAULT_TOKEN = "patEmulatorLocalToken.0000"  # noqa: S105 - a published local test token, not a secret


class Emulator:
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        settings: EmulatorSettings | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        scopes: set[str] | None = None,
    ) -> None:
        self.token = token
        self.settings = settings or EmulatorSettings()
        self.clock = clock or Clock()
        self.scopes = frozenset(ALL_SCOPES if scopes is None else scopes)
        self.state = AirtableState(clock=self.clock, settings=self.settings, seed=seed)
        self.rate_limiter = RateLimiter(self.settings)
        self.faults = FaultInjector()
        self.attachments = AttachmentUrls(self.state, self.clock, self._base_url)
        self.reader = RecordReader(self.state, self.attachments.present)
        self.webhooks = WebhookService(self.state, present_attachments=self.attachments.present)
        self._host = host
        self._port = port
        self._stopping = threading.Event()
        self._server: ApiServer | None = None
        self._thread: threading.Thread | None = None
        self.app = ApiApp(
            settings=self.settings,
            token=token,
            scopes=self.scopes,
            records=RecordsApi(self.state, self.reader),
            metadata=MetadataApi(self.state),
            attachments=self.attachments,
            rate_limiter=self.rate_limiter,
            faults=self.faults,
            webhooks=self.webhooks,
            wait=lambda seconds: not self._stopping.wait(seconds),
        )

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """The API base URL to give clients (``{url}/v0/...`` are the endpoints)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url()

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = ApiServer((self._host, self._port), self.app, self.settings)
        # A restart keeps the port, as a restarted Airtable keeps its address.
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="airtable-emulator", daemon=True
        )
        self._thread.start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        self.webhooks.stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- knobs ----------------------------------------------------------------------------------

    def expire_iterators(self) -> int:
        """Drop every list iterator now (like an Airtable restart); returns how many there were."""
        return self.reader.iterators.expire_all()

    # --- internals ------------------------------------------------------------------------------

    def _base_url(self) -> str:
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self._port}"
