"""ACME's gates policies; `extends: acme-baseline` in a repository's gates.yaml."""

from importlib.resources import files

BASELINE = files(__name__) / "baseline.yaml"
