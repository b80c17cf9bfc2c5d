"""``python -m airtable_emulator``: serve the demo base until Ctrl-C."""

import argparse
import logging
import signal
import threading
from types import FrameType

from .demo import build_demo_base
from .emulator import DEFAULT_TOKEN, Emulator
from .settings import EmulatorSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m airtable_emulator", description="Run the Airtable emulator with the demo base."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8111, help="port to listen on (default 8111; 0 = any)")
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help=f"accepted bearer token (default {DEFAULT_TOKEN})"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and demo data (default 0)")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="N",
        help="requests per second per base before 429 (default 5; 0 disables rate limiting)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    settings = EmulatorSettings()
    if args.rate_limit is not None:
        if args.rate_limit <= 0:
            settings.rate_limit_enabled = False
        else:
            settings.requests_per_second_per_base = args.rate_limit
    emulator = Emulator(token=args.token, settings=settings, seed=args.seed, host=args.host, port=args.port)
    base = build_demo_base(emulator.state, seed=args.seed)
    finished = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        finished.set()

    signal.signal(signal.SIGTERM, request_stop)
    emulator.start()
    try:
        print(f"Airtable emulator listening on {emulator.url}  (API: {emulator.url}/v0/...)")
        print(f"token:   {args.token}")
        print(f"base:    {base.id}  ({base.name})")
        for table in base.tables.values():
            print(f"table:   {table.id}  {table.name} ({len(table.records)} records)")
        limit = (
            "off"
            if not settings.rate_limit_enabled
            else f"{settings.requests_per_second_per_base:g} req/s/base"
        )
        print(f"rate limit: {limit}.  Ctrl-C to stop.", flush=True)
        while not finished.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
