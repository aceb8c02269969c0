"""Front end: readers of expression strings, SymPy expressions and Python function bodies."""
