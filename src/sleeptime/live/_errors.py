"""Errors of real runs."""

from __future__ import annotations

from sleeptime._errors import SleeptimeError


class LiveError(SleeptimeError):
    """A real run cannot start or go on: an endpoint that does not answer, a bad option."""


class RequestFailed(LiveError):
    """A request failed after its last retry; the message names the request and the status."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
