"""The demand hub in its users' words: arrivals, rosters, triage, grading, dispatch.

Each module answers one question about what happens to a call; :mod:`.plan`
compiles them into the input an engine runs.
"""
