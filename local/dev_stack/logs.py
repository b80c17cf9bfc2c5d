"""Every part's log lines in one terminal, each line prefixed by the part it comes from.

Parts are the child processes (``dynalite``, ``emulator``), the stack's own pieces (``gateway``,
``queues``, ``schedules``, ``dev-stack``) and each function by its logical id while it runs. The
functions run in this process, so what they print (powertools' JSON lines included) is attributed to
the function whose invocation is running on the printing thread (the invoker's
``CURRENT_FUNCTION``). Lines are written whole and unchanged after the prefix, so a JSON log line stays
JSON after ``"<part> | "``.
"""

import contextlib
import io
import logging
import sys
import threading
from typing import TextIO

from dev_stack.invoker import CURRENT_FUNCTION

DEFAULT_PART = "dev-stack"
_COLORS = ("36", "32", "33", "35", "34", "96", "92", "93", "95", "94", "91")


def current_part() -> str | None:
    """The function whose invocation runs on this thread, if any."""
    return CURRENT_FUNCTION.get()


class LogHub:
    """Writes prefixed lines to one stream, a whole line at a time, from any thread."""

    def __init__(self, stream: TextIO, *, color: bool | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._width = len(DEFAULT_PART)
        self._colors: dict[str, str] = {}
        self._color = stream.isatty() if color is None else color

    def register(self, *parts: str) -> None:
        """Known parts line up: the prefix is as wide as the longest one."""
        with self._lock:
            for part in parts:
                self._width = max(self._width, len(part))
                self._colors.setdefault(part, _COLORS[len(self._colors) % len(_COLORS)])

    def prefix(self, part: str) -> str:
        padded = part.ljust(self._width)
        if not self._color:
            return f"{padded} | "
        code = self._colors.get(part, "37")
        return f"\033[{code}m{padded} |\033[0m "

    def emit(self, part: str, line: str) -> None:
        text = line.rstrip("\r\n")
        with self._lock, contextlib.suppress(OSError, ValueError):
            # A closed terminal or pipe must not stop the stack from stopping cleanly.
            self._stream.write(f"{self.prefix(part)}{text}\n")
            self._stream.flush()

    def write_block(self, text: str) -> None:
        """Lines without prefixes (what to try, so the curl lines can be copied as they are)."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._stream.write(text if text.endswith("\n") else text + "\n")
            self._stream.flush()


class PartStream(io.TextIOBase):
    """A text stream (to stand in for sys.stdout/sys.stderr) that sends each complete line to the
    hub under the part running on the writing thread."""

    def __init__(self, hub: LogHub, default_part: str = DEFAULT_PART) -> None:
        super().__init__()
        self._hub = hub
        self._default_part = default_part
        self._buffers = threading.local()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        pending: str = getattr(self._buffers, "text", "") + text
        *lines, rest = pending.split("\n")
        self._buffers.text = rest
        part = current_part() or self._default_part
        for line in lines:
            self._hub.emit(part, line)
        return len(text)

    def flush(self) -> None:
        rest: str = getattr(self._buffers, "text", "")
        if rest:
            self._buffers.text = ""
            self._hub.emit(current_part() or self._default_part, rest)


class PartHandler(logging.Handler):
    """``logging`` records to the hub: under the running function if any, else by logger name
    (``dev_stack.gateway`` → ``gateway``; other libraries under their top-level name)."""

    def __init__(self, hub: LogHub, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._hub = hub

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:
            self.handleError(record)
            return
        part = current_part() or _part_of_logger(record.name)
        for line in message.splitlines() or [""]:
            self._hub.emit(part, line)


def _part_of_logger(name: str) -> str:
    if name == "dev_stack" or name.startswith("dev_stack.__"):
        return DEFAULT_PART
    if name.startswith("dev_stack."):
        return name.split(".")[1]
    return name.split(".", maxsplit=1)[0]


# Libraries that log every request or retry at INFO; their warnings still show.
QUIET_LOGGERS = ("werkzeug", "botocore", "boto3", "urllib3", "s3transfer")


class LogCapture:
    """Routes this process's output through the hub while active, and puts everything back after."""

    def __init__(self, hub: LogHub, level: int) -> None:
        self.hub = hub
        self._level = level
        self._handler = PartHandler(hub)
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self._saved_streams: tuple[TextIO, TextIO] | None = None
        self._saved_levels: dict[str, int] = {}

    def install(self) -> None:
        self._saved_streams = (sys.stdout, sys.stderr)
        sys.stdout = PartStream(self.hub)
        sys.stderr = PartStream(self.hub)
        root = logging.getLogger()
        self._saved_levels[""] = root.level
        root.addHandler(self._handler)
        root.setLevel(self._level)
        stack_logger = logging.getLogger("dev_stack")
        self._saved_levels["dev_stack"] = stack_logger.level
        stack_logger.setLevel(self._level)
        for name in QUIET_LOGGERS:
            quiet = logging.getLogger(name)
            self._saved_levels[name] = quiet.level
            quiet.setLevel(max(logging.WARNING, self._level))

    def uninstall(self) -> None:
        if self._saved_streams is None:
            return
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = self._saved_streams
        self._saved_streams = None
        logging.getLogger().removeHandler(self._handler)
        for name, level in self._saved_levels.items():
            logging.getLogger(name or None).setLevel(level)
        self._saved_levels.clear()
