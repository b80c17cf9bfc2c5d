"""The records query API's logic: table resolution, named record views, signed cursors, filters.

Knows nothing of HTTP events: functions/records/app.py parses the request and shapes the response.
See docs/records-api.md for the routes, the cost model and the cursor's guarantees.
"""
