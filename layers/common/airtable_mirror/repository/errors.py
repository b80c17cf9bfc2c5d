"""Typed errors of the repository. Expected races (a newer write won) are outcomes, not errors."""


class RepositoryError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidIdentifierError(RepositoryError, ValueError):
    """An id that cannot go into a key (empty, too long, or with characters such as `#`)."""


class InvalidObservationError(RepositoryError, ValueError):
    """A record observation that cannot be stored: not JSON, bad version or created time."""


class InvalidCursorError(RepositoryError, ValueError):
    """An `exclusive_start` key that does not belong to the queried table and index."""


class UnprocessedKeysError(RepositoryError):
    """BatchGetItem kept returning unprocessed keys after every retry."""

    def __init__(self, remaining: int, attempts: int) -> None:
        super().__init__(f"{remaining} keys still unprocessed after {attempts} BatchGetItem attempts")
        self.remaining = remaining
        self.attempts = attempts


class CorruptItemError(RepositoryError):
    """A stored item that this code did not write (missing or mistyped attributes)."""


class RateSlotContentionError(RepositoryError):
    """The shared rate-slot item changed under us on every attempt."""
