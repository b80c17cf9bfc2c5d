"""Typed errors of the records query service; api/errors.py maps each to one HTTP status."""


class RecordsQueryError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidQueryError(RecordsQueryError, ValueError):
    """A request parameter that cannot be served as given (400). `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class TableNotFoundError(RecordsQueryError, LookupError):
    """No mirrored table answers to the name, id or alias (404)."""


class RecordNotFoundError(RecordsQueryError, LookupError):
    """The record is unknown to the mirror, or deleted (404)."""
