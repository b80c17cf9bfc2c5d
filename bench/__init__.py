"""Benchmarks of airtable-mirror against the Airtable emulator and dynalite (`make bench`)."""
