"""Staging: forward lines, the reverse sweep, programs and their evaluation."""
