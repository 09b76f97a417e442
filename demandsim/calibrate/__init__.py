"""Calibrate a scenario from a force's own call (ACD) and incident (CAD) records (issue 12)."""
