"""The engine: collecting in parallel with a cache, evaluating under a policy, building verdicts."""
