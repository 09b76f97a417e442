"""Benchmarks of demandsim's engines against peer simulators (not part of the package).

Run ``python -m benchmarks.run`` (or ``make bench``); see ``benchmarks/README.md``.
"""
