"""Times, ages and aligned columns for people reading a terminal."""

from collections.abc import Sequence
from datetime import datetime


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 time the API gave (``…Z`` or with an offset); None if absent."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 20 min``, ``6 d 23 h``: two units at most."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def age(text: str | None, now: float) -> str:
    """``5 min ago`` / ``in 6 d 23 h`` for an ISO time; ``never`` when there is none."""
    moment = parse_time(text)
    if moment is None:
        return "never"
    return f"{duration(now - moment)} ago" if moment <= now else f"in {duration(moment - now)}"


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; numbers are the caller's to format."""
    widths = [len(title) for title in header]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "?"
