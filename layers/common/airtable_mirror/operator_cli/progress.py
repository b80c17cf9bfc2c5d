"""How a sync run's progress is shown while the CLI follows it.

On a terminal, one bar redrawn in place: records fetched so far against the table's record count at
its last sync (an estimate: the table may have grown or shrunk since). Elsewhere (a log, a pipe, CI),
a plain line each time the status or the count changes, so the output stays readable as a file.
"""

from typing import Any, TextIO

from airtable_mirror.operator_cli.formatting import count

BAR_WIDTH = 30


class ProgressDisplay:
    def __init__(self, stream: TextIO, *, interactive: bool) -> None:
        self._stream = stream
        self._interactive = interactive
        self._last_shown: tuple[str, int] | None = None
        self._drawn_width = 0

    def show(self, run: dict[str, Any], estimate: int | None) -> None:
        status = str(run.get("status"))
        fetched = int(run.get("counts", {}).get("fetched", 0))
        if self._interactive:
            self._draw_bar(run, status, fetched, estimate)
        elif (status, fetched) != self._last_shown:
            self._stream.write(
                f"{run.get('run_id')} {run.get('table_name')}: {status}, "
                f"{_fetched_phrase(fetched, estimate)}\n"
            )
            self._stream.flush()
        self._last_shown = (status, fetched)

    def close(self) -> None:
        """Leave the bar where it is and move past it."""
        if self._interactive and self._drawn_width:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn_width = 0

    def _draw_bar(self, run: dict[str, Any], status: str, fetched: int, estimate: int | None) -> None:
        if estimate:
            # A run still going never shows 100 %: the estimate may be short of the real count.
            share = min(fetched / estimate, 1.0 if status == "succeeded" else 0.99)
            filled = round(share * BAR_WIDTH)
            bar = "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"
            line = f"{run.get('table_name')} {bar} {count(fetched)}/~{count(estimate)} {share:4.0%}  {status}"
        else:
            line = f"{run.get('table_name')} {count(fetched)} records fetched  {status}"
        padding = " " * max(self._drawn_width - len(line), 0)
        self._stream.write("\r" + line + padding)
        self._stream.flush()
        self._drawn_width = len(line)


def _fetched_phrase(fetched: int, estimate: int | None) -> str:
    if not estimate:
        return f"{count(fetched)} records fetched"
    return f"{count(fetched)} of ~{count(estimate)} records fetched ({min(fetched / estimate, 1.0):.0%})"
