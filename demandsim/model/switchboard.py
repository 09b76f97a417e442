"""Where the switchboard sends a 101 call after triage.

The route is the caller's own, drawn once per caller (:mod:`demandsim.draws`), from the
shares ``triage.route`` in this order. Kept apart from :mod:`demandsim.model.plan` so that
the draws, the plan and the engines read one definition without importing each other.

Example:
    >>> ROUTES[ROUTE_SECONDARY]
    'secondary'
"""

#: switchboard routes, in the order of triage.route
ROUTES = ("to_999", "secondary", "closed")
ROUTE_TO_999, ROUTE_SECONDARY, ROUTE_CLOSED = range(3)
