"""Governance gates for CI/CD: pluggable checks, policy-as-code, one machine-readable verdict."""

__version__ = "0.1.0"
