"""A wire-level stand-in for the Airtable Web API, for tests, benchmarks and the local stack.

Development only: nothing under ``layers/`` or ``functions/`` may import it.
"""
