"""PDF pages written directly: fonts, mathematics typeset from LaTeX, drawing (no matplotlib)."""
