"""Policy-as-code: loading, validation, extends, overrides and the effective policy."""
