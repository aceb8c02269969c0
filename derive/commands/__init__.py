"""Subcommands of the ``derive`` CLI: one module each, found by name (see derive/cli.py).

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
"""
