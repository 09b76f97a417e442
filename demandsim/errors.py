"""The one error a user should see for bad input: key, value and what is wrong.

A value a scenario derives from others (``per_year: ${ds.mul:${validation.arrivals_per_min},525600}``)
is reported under the key the user typed, with the derived key after it, because that
is the one to change: :func:`remember_derived` (called by
:func:`demandsim.config.to_config`) records where this process's config took each
derived value from.

Example:
    >>> remember_derived({"arrivals.line_999.per_year": (-525600.0, [("validation.arrivals_per_min", -1)])})
    >>> str(ConfigError("arrivals.line_999.per_year", -525600.0, "must be >= 0"))
    'validation.arrivals_per_min=-1 (via arrivals.line_999.per_year=-525600.0): must be >= 0'
    >>> remember_derived({})
"""

from __future__ import annotations

import math

#: derived key -> (its value, [(source key, source value), ...]) for the config last
#: composed in this process (a run, or a sweep job's runs, which share their scenario)
_derived: dict[str, tuple[object, list[tuple[str, object]]]] = {}
#: "any value": an error raised before the derived value was known (e.g. a failed conversion)
ANY = object()


class ConfigError(ValueError):
    """A config value the model cannot use.

    Example:
        >>> str(ConfigError("run.days", -1, "must be > 0"))
        'run.days=-1: must be > 0'
    """

    def __init__(self, key: str, value: object, reason: str) -> None:
        self.key, self.value, self.reason = key, value, reason
        super().__init__(f"{where(key, value)}: {reason}")


#: the largest whole number the draws and the engines hold (int64): headcounts, attempts, seeds
INT_MAX = 2**63 - 1


def whole_number(value: object, key: str, low: int, high: int = INT_MAX) -> int:
    """``value`` if it is a whole number in ``low..high``, else ConfigError naming ``key``.

    Example:
        >>> whole_number(3, "x", 1)
        3
        >>> whole_number(24, "shift.start_hour", 0, 23)
        Traceback (most recent call last):
        ...
        demandsim.errors.ConfigError: shift.start_hour=24: must be 0..23
    """
    is_whole = isinstance(value, int) and not isinstance(value, bool)
    if not is_whole and type(value).__module__ == "numpy":  # a numpy integer from the Python API
        import numpy as np

        is_whole = isinstance(value, np.integer)
    if not is_whole or not low <= value <= high:
        rule = f"must be a whole number >= {low}" if high == INT_MAX else f"must be {low}..{high}"
        raise ConfigError(key, value, rule)
    return int(value)


def where(key: str, value: object = ANY) -> str:
    """``key=value`` as a user should read it: the typed key first when ``key`` is derived.

    Example:
        >>> where("run.days", 3)
        'run.days=3'
    """
    own = key if value is ANY else f"{key}={_show(value)}"
    found = _derived.get(key)
    if found is None or not (value is ANY or found[0] is ANY or _same(found[0], value)) or not found[1]:
        return own
    typed = ", ".join(f"{k}={_show(v)}" for k, v in found[1])
    return f"{typed} (via {own})"


def remember_derived(derived: dict[str, tuple[object, list[tuple[str, object]]]]) -> None:
    """Replace the record of derived keys (see the module docstring); ``{}`` forgets them."""
    _derived.clear()
    _derived.update(derived)


def _same(a: object, b: object) -> bool:
    try:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared are not the same
        return False


def _show(value: object) -> str:
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) and (" " in value or value == "") else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ScenarioRefused(ValueError):
    """A scenario file asks for something a data file may not do (e.g. ``_target_``)."""
