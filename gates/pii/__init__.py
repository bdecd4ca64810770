"""The PII gate's engine: a cheap candidate pre-filter, then Presidio on the regions that need it.

Nothing here imports Presidio at module level: `gates.pii.analyzer` is imported only when a scan
has candidates, so a pre-commit run over a few clean files never pays Presidio's start-up.
"""
