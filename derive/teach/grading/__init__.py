"""Grading: batches, the kernel-enforced sandbox and the platforms' formats."""
