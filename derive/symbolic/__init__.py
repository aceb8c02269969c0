"""Symbolic side: full derivatives, sizes, paths, swell, families and comparisons."""
