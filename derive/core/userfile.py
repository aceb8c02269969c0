"""Read a user's text file (roster, exercise spec) with a size limit; one-line DeriveError otherwise."""
from __future__ import annotations

import os
import stat

from derive.core.errors import DeriveError


def open_file(path: str):
    """``(file, stat)`` of ``path`` opened for reading without blocking (OSError if it cannot be):
    a FIFO or a device given as a file must not hang the command; the caller checks the kind."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    return os.fdopen(fd, "rb"), os.fstat(fd)


def read_text(path: str, limit: int, label: str | None = None, encoding: str = "utf-8",
              hint: str = "") -> str:
    """The file's text, read at most ``limit`` bytes; ``label`` names it in messages (the path)."""
    label = label or str(path)
    try:
        fh, st = open_file(path)
    except OSError as err:
        raise DeriveError(f"cannot read {label}: {err.strerror or err}") from None
    with fh:
        if not stat.S_ISREG(st.st_mode):
            raise DeriveError(f"{label} is not a regular file: give a text file")
        try:
            raw = fh.read(limit + 1)
        except OSError as err:
            raise DeriveError(f"cannot read {label}: {err.strerror or err}") from None
    if len(raw) > limit:
        raise DeriveError(f"{label} is larger than {limit:,} bytes")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise DeriveError(f"{label} is not UTF-8 text{hint}") from None


def function_source(func) -> str:
    """A function object's source, dedented, with blank lines before it so that line numbers
    in messages are the file's (or, in Jupyter, the cell's), as the command line gives them."""
    import inspect
    import textwrap

    try:
        lines, start = inspect.getsourcelines(func)
    except (OSError, TypeError):
        raise DeriveError(f"cannot read the source of {func!r}; pass its source text instead") from None
    return "\n" * max(start - 1, 0) + textwrap.dedent("".join(lines))
