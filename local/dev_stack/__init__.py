"""The local stack: airtable-mirror's functions, HTTP API, webhook URL, queues and schedules on one
machine, read from template.yaml (``python -m dev_stack``, or ``make dev``).

template.py reads the template; invoker.py runs the handlers in this process; gateway.py serves the
HTTP API and the function URL; services.py runs dynalite, moto's server and the Airtable emulator;
queues.py and schedules.py are Lambda's event source mappings and EventBridge's rules; mirror.py
registers the webhook and runs the first sync; stack.py starts and stops it all; logs.py puts every
part's lines in one terminal.
"""
