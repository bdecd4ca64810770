"""Finding secrets with detect-secrets (the secrets gate is gates.plugins.secrets)."""
