"""Gate plugins: the interface, the registry and the built-in gates (one module each)."""
