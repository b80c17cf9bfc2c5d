"""Real-time updates from Airtable webhooks: signed pings, payload cursors, webhook lifecycle.

Airtable's webhooks do not carry changes: they ping a URL, and the mirror fetches the payloads with a
cursor it keeps (docs/webhooks.md). The pieces, each usable on its own:

- :mod:`.signature`: the ``X-Airtable-Content-MAC`` check;
- :mod:`.receiver`: the function URL's logic (validate, authenticate, queue);
- :mod:`.drain`: the worker's logic (claim, fetch, apply, advance the cursor);
- :mod:`.applier`: what a batch of payloads does to the mirror (re-read records, tombstones, schema);
- :mod:`.full_syncs`: full syncs a payload calls for (deleted fields, repairs, lost payloads);
- :mod:`.lifecycle`: register, refresh, re-enable and repair webhooks;
- :mod:`.push`: the seed project's simpler push format;
- :mod:`.cli`: ``python -m airtable_mirror.webhooks.cli register …``.
"""
