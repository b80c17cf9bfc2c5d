"""The operator's command line (`bin/airtable-mirror`, `python -m airtable_mirror.operator_cli`).

It talks to the HTTP API only, local or deployed, except `webhooks register|refresh`, which run the
webhook CLI's code (airtable_mirror.webhooks.cli) with the target stack's configuration.
"""
