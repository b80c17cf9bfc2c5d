"""``python -m dev_stack``: the whole service on this machine until Ctrl-C (what `make dev` runs)."""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from dev_stack.services import PROJECT_ROOT
from dev_stack.stack import DevStack, DevStackOptions

logger = logging.getLogger("dev_stack")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dev_stack",
        description=(
            "Run airtable-mirror locally: dynalite, the Airtable emulator (or real Airtable when "
            "AIRTABLE_API_KEY and AIRTABLE_BASE_ID are set), the HTTP API, the webhook function URL, "
            "the queue consumers and the schedules, all from template.yaml. Port 0 means any free port."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address the HTTP servers listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=3000, help="the HTTP API's port (default 3000)")
    parser.add_argument(
        "--function-url-port", type=int, default=3001, help="the webhook function URL's port (default 3001)"
    )
    parser.add_argument(
        "--emulator-port", type=int, default=8111, help="the Airtable emulator's port (default 8111)"
    )
    parser.add_argument(
        "--emulator-rate-limit",
        type=float,
        default=10.0,
        help=(
            "requests per second per base the emulator allows (default 10: the functions pace "
            "themselves at 5, the rest is for you; 5 is Airtable's own limit, 0 none)"
        ),
    )
    parser.add_argument(
        "--dynamodb-port", type=int, default=0, help="dynalite's port (default: any free port)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=PROJECT_ROOT / ".local-data",
        help="where the DynamoDB data and the local keys live (default .local-data, ignored by git)",
    )
    parser.add_argument(
        "--no-first-sync", action="store_true", help="do not sync the tables never synced before"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the stack's own log level",
    )
    arguments = parser.parse_args(argv)
    for name in ("port", "function_url_port", "emulator_port", "dynamodb_port"):
        if not 0 <= getattr(arguments, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be a port number (0-65535)")
    if arguments.emulator_rate_limit < 0:
        parser.error("--emulator-rate-limit must be 0 (no limit) or more")
    return arguments


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = parse_args(argv)
    options = DevStackOptions(
        host=arguments.host,
        port=arguments.port,
        function_url_port=arguments.function_url_port,
        emulator_port=arguments.emulator_port,
        emulator_rate_limit=arguments.emulator_rate_limit,
        dynamodb_port=arguments.dynamodb_port,
        data_dir=arguments.data_dir,
        first_sync=not arguments.no_first_sync,
        log_level=arguments.log_level,
    )
    # SIGTERM stops the stack as Ctrl-C does, even half-way through its start. Ctrl-C (SIGINT) stops
    # it too when it was started in the background of a script, which ignores SIGINT for its children.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = DevStack(options)
    code = 0
    try:
        stack.start()
        threading.Event().wait()
    except KeyboardInterrupt:
        logger.info("stopping")
    except Exception as error:
        logger.debug("start-up failed", exc_info=True)
        print(f"dev stack: {type(error).__name__}: {error}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    if code == 0:
        print("dev stack stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
