"""Are two derivatives the same? Staged gradient vs sympy.diff vs central differences."""
