"""The records query API's logic: table resolution, named record views, signed cursors, filters.

Knows nothing of HTTP events: functions/records/app.py parses the request and shapes the response.
See docs/records-api.md for the routes, the cost model and the cursor's guarantees.

Its value types are NamedTuples rather than frozen dataclasses: a frozen dataclass compiles six
methods when it is defined, about ten times a NamedTuple's cost, and the records function pays for
each definition on every cold start.
"""
