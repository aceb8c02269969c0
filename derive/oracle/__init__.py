"""Reference checks: central differences and sympy.diff against the staged gradient."""
