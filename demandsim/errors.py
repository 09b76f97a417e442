"""The one error a user should see for bad input: key, value and what is wrong."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config value the model cannot use.

    Example:
        >>> str(ConfigError("run.days", -1, "must be > 0"))
        'run.days=-1: must be > 0'
    """

    def __init__(self, key: str, value: object, reason: str) -> None:
        self.key, self.value, self.reason = key, value, reason
        super().__init__(f"{key}={_show(value)}: {reason}")


def _show(value: object) -> str:
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) and (" " in value or value == "") else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ScenarioRefused(ValueError):
    """A scenario file asks for something a data file may not do (e.g. ``_target_``)."""
