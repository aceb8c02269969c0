"""Subcommands of the ``derive`` CLI: one module each, found by name (see derive/cli/main.py).

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Modules whose names start with ``_`` are helpers, not commands.
"""

#: The order commands are listed in ``derive --help``; others follow alphabetically.
ORDER = ("demo", "stage", "compare", "swell", "graph", "sheet", "exercise", "grade", "report",
         "gradescope", "prairielearn", "doctor")
