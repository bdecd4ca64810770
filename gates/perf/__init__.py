"""Performance measurements: reading results, running commands, comparing with a baseline."""
