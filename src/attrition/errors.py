"""The project's error types: one base, one subclass per domain.

Every error a user can cause is an `AttritionError` whose message names the
file, column, option or version at fault. The CLI turns any of them into one
line on stderr and exit code 1; the API turns them into a short `detail`.
They subclass `ValueError` too, so library callers can treat them as bad input.
"""

from __future__ import annotations


class AttritionError(ValueError):
    """A failure the person running the command can act on; the message says what and where."""


class ConfigError(AttritionError):
    """A config file is missing, unreadable or invalid; the message names file and key."""


class DataError(AttritionError):
    """Input data that cannot be used; the message names the file, column and problem."""


class RegistryError(AttritionError):
    """A registry request that cannot be carried out; the message says why."""


class TeamError(AttritionError):
    """A team server, member or role request that cannot be carried out; the message says why."""


class CompareError(AttritionError):
    """Runs that cannot be compared; the message names the run."""


class MonitorError(AttritionError):
    """A monitoring check that cannot run; the message says what is missing."""


class ServingError(AttritionError):
    """A model version that cannot be served; the message names the version and why."""


class BatchInputError(DataError):
    """A batch-scoring input that cannot be scored at all (not a row-level reject)."""


class TuningError(AttritionError):
    """A shared tuning study that cannot be made, joined or finished; the message says why."""
