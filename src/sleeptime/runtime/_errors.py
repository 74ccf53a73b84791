"""The project's root exception, and the runtime's own.

:class:`SleeptimeError` is defined here, in the part that imports nothing outside the standard
library, so that a router that copies ``sleeptime/runtime/`` alone still has it;
``sleeptime.SleeptimeError`` is this same class.
"""

from __future__ import annotations


class SleeptimeError(Exception):
    """Base class of every error that sleeptime raises on bad input or configuration."""


class ArtifactError(SleeptimeError, ValueError):
    """A policy artifact that cannot be used; the message names the file and the field."""


class DecisionError(SleeptimeError, ValueError):
    """A decision asked with missing or invalid inputs."""
