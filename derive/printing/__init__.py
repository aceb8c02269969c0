"""Printing: one program as Python, NumPy, LaTeX, Markdown and text."""
