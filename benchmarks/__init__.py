"""Benchmarks of derive against the tools a user would use instead (run by hand, not in CI)."""
