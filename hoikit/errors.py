"""Errors a user can act on. Each carries the process exit code the CLI ends with.

Exit codes: 2 = bad input (unreadable file, empty mesh, missing checkpoint), 3 = no hand found.
"""

from __future__ import annotations


class HoikitError(Exception):
    """An error with a one-line, user-facing message and a process exit code."""

    exit_code = 1


class InputError(HoikitError):
    """A file is missing, unreadable, of the wrong kind, or empty."""

    exit_code = 2


class MissingCheckpointError(InputError):
    """An adapter's checkpoint was asked for but not found; the message names where we looked."""


class NoHandError(HoikitError):
    """No hand was detected in the input (after every retry)."""

    exit_code = 3


class HoikitWarning(UserWarning):
    """A result was produced but a user should know something about it (e.g. non-watertight mesh)."""
