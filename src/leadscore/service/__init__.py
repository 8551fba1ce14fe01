"""The service layer: what the HTTP routes, the CLI and the dashboard call.

Every function takes a :class:`~leadscore.store.Store` (and, where scores are
involved, the :class:`~leadscore.service.scoring.ScoringEngine`) and plain
values, and returns plain dictionaries ready to serialise. Routes stay thin.
"""
