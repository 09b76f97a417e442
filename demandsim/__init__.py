"""demandsim: a discrete-event simulator of a police force's demand hub.

Run it from the command line (``python -m demandsim scenario=NAME``) or from
Python::

    from demandsim.config import load_config
    from demandsim.runner import simulate
    result = simulate(load_config(["scenario=demand_2024", "run.days=14"]))
    result.kpis["sl_999_10s"]
"""

__version__ = "0.1.0"
