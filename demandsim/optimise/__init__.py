"""Staffing optimiser: the least staff that meets every standard (issue 13)."""
