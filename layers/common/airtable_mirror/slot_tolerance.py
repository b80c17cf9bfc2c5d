"""How late after its rate slot a request may still leave: the slack a pacer's safety margin buys.

One rule for both pacers, the in-process one (airtable/pacing.py) and the one Lambda functions share
through DynamoDB (repository/rate_slots.py), which never import each other; their module docstrings
derive it and state the invariant it keeps.
"""

import math

DEFAULT_SEND_ALLOWANCE = 0.010
"""Seconds kept, out of the margin's slack, for a request to get from ``acquire`` onto the wire."""


def late_tolerance(interval: float, requests_per_second: float, send_allowance: float) -> float:
    """Seconds after its slot a caller may still send: ``n`` intervals less the ``n`` requests'
    second (``n``: the requests Airtable allows in one window), less ``send_allowance``; never
    negative."""
    if not math.isfinite(send_allowance) or send_allowance < 0:
        raise ValueError(f"send_allowance must be zero or positive, got {send_allowance!r}")
    window_requests = max(1, math.floor(requests_per_second))
    slack = window_requests * interval - window_requests / requests_per_second
    return max(0.0, slack - send_allowance)
