"""Calibrate a scenario from a force's own call and incident records (issue 12)."""
