"""Calibrate the model from a force's own records, and back-test it against what happened.

``python -m demandsim.calibrate CALLS [--incidents INCIDENTS] --name NAME [--backtest]``
(demandsim/calibrate/__main__.py) reads the exports (:mod:`.read`), fits every input
(:mod:`.fit` calls, :mod:`.capacity` staff, :mod:`.incidents` response), writes a runnable
scenario (:mod:`.scenario`), simulates it over the records' period (:mod:`.backtest`) and
draws the page that compares the two (:mod:`.page`). docs/calibration.md names each
estimator and its reference.
"""
