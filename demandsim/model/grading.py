"""THRIVE grading: the grade mix of each source and each grade's target.

Which mix applies depends on how the call reached the grader: ``line_999``
(a call first made to 999), ``from_101`` (a 101 caller graded by a 999 handler:
switchboard transfer or redial to 999) or ``secondary`` (the secondary line).
Targets are minutes from the start of the call (DOMAIN.md: 15 min, 60 min, 4 h).

Example:
    >>> from demandsim.config.schema import GradingConfig
    >>> g = Grading.from_config(GradingConfig())
    >>> float(g.cumulative[SOURCE_SECONDARY, -1]), float(g.target_s[0])  # each mix sums to 1; immediate: 15 min
    (1.0, 900.0)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from demandsim.config.schema import DEPLOYED_GRADES
from demandsim.errors import ConfigError
from demandsim.model.shares import cumulative_shares

SOURCES = ("line_999", "from_101", "secondary")
SOURCE_999, SOURCE_FROM_101, SOURCE_SECONDARY = range(3)
#: grade codes below this one send a unit (immediate, priority, prompt)
N_DEPLOYED = len(DEPLOYED_GRADES)


@dataclass(frozen=True)
class Grading:
    """Cumulative grade mix per source and target seconds per deployed grade."""

    cumulative: np.ndarray  # (3 sources, 5 grades)
    target_s: np.ndarray  # (3 deployed grades,)

    @classmethod
    def from_config(cls, grading) -> "Grading":
        cum = np.stack(
            [cumulative_shares(asdict(getattr(grading.mix, s)), f"grading.mix.{s}") for s in SOURCES]
        )
        targets = []
        for grade in DEPLOYED_GRADES:
            value = getattr(grading.targets, grade)
            if value is None or value <= 0:
                raise ConfigError(f"grading.targets.{grade}", value, "target must be > 0 minutes")
            targets.append(float(value) * 60.0)
        return cls(cum, np.array(targets))
