"""The request cache: ``derive sheet`` asked again for the same thing writes its files again without importing SymPy.

A fresh process spends most of a second importing SymPy, NumPy and matplotlib, more than a
sheet already in the disk cache takes to find. So a whole command's output (every file it
wrote, the lines it printed) is kept under a key made of everything the output depends on,
checked before any of those imports (this module imports none of them):

- the arguments as argparse normalised them (every option, default values included);
- the files the command reads: the target ``FILE.py`` and every ``.py`` file beside it (the
  sibling modules its helpers may come from, ``derive.frontend.inline``), and the roster,
  each by content;
- ``derive.core.disk.versions()`` (Python, the libraries' installed versions, derive's own
  source files) and ``disk.settings()`` (matplotlibrc), and matplotlib's font list.

A command that reads what is not in that list (``--exercise``; ``--engine typst``, whose
version is not in the key), or whose output depends on a
time budget that ran out (SymPy gave up, a check unproven), is not kept; neither is a failed
one. ``--no-cache`` and ``DERIVE_CACHE=0`` turn this off with the disk cache.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat

from derive.core.errors import DeriveError
from derive.core.userfile import open_file
from derive.core import disk

MAX_SIBLINGS = 200            # .py files beside a target hashed at most (more: not kept)
MAX_BYTES = 64 * 2 ** 20      # a command's output kept at most
MAX_FILE = 16 * 2 ** 20       # a file read for the key at most (larger: not kept)
_FILE = re.compile(r"^(?P<path>.+\.py)(?::[A-Za-z_]\w*)?$")
_incomplete = False           # this process's sheet depends on a budget that ran out


def incomplete():
    """Called where an answer depends on time (SymPy's budget ran out): not kept."""
    global _incomplete
    _incomplete = True


def request_key(args) -> str | None:
    """The entry's name for this command, or None when it cannot be kept."""
    if (not args.cache or not disk.enabled() or getattr(args, "exercise", None)
            or args.engine != "pdf"):       # typst's version is not in the key
        return None
    opts = sorted((k, v) for k, v in vars(args).items() if not k.startswith("_"))
    parts = [repr(opts).encode()]
    m = _FILE.match((args.target or "").strip())
    if m:
        files = _files_read(m.group("path"))
        if files is None:
            return None
        parts += files
    if args.roster:
        roster = _content(args.roster)
        if roster is None:
            return None
        parts.append(roster)
    parts += [disk.settings(), _font_list()]
    return disk.key("request", *parts)


def _content(path) -> bytes | None:
    """A regular file's digest (a marker for what cannot be read); None if it is too large.

    Opened without blocking and checked to be a regular file before it is read: a FIFO or a
    device named ``x.py`` beside the target must not hang the command."""
    try:
        fh, st = open_file(path)
    except OSError as err:                     # the command says so itself: a marker here
        return f"unreadable {type(err).__name__}".encode()
    with fh:
        if not stat.S_ISREG(st.st_mode):
            return f"not a file {stat.S_IFMT(st.st_mode)}".encode()
        if st.st_size > MAX_FILE:
            return None
        return hashlib.sha256(fh.read(MAX_FILE + 1)).digest()


def _files_read(path):
    """The target and each ``.py`` file beside it, by name and content; None if too many."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
    except OSError:
        names = []
    if len(names) > MAX_SIBLINGS:
        return None
    out = [b"target", _content(path)]
    for n in names:
        out += [n.encode(), _content(os.path.join(folder, n))]
    return None if None in out else out


def _font_list() -> bytes:
    """matplotlib's font list (which font file each family is): its cache files' names,
    sizes and times, found without importing matplotlib."""
    where = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "matplotlib")
    out = []
    try:
        for n in sorted(os.listdir(where)):
            if n.startswith("fontlist"):
                st = os.stat(os.path.join(where, n))
                out.append(f"{n} {st.st_size} {st.st_mtime_ns}")
    except OSError:
        pass
    return "\n".join(out).encode()


def replay(name, output):
    """Write the files of the command kept under ``name`` again and return the lines it
    printed; None on a miss (nothing written). ``output``: the -o path, checked first."""
    if name is None:
        return None
    found = disk.load(name)
    if not (isinstance(found, dict) and isinstance(found.get("files"), list)):
        return None
    writable(output)                           # as the command checks it first
    for path, data in found["files"]:
        _write(path, data)
    return found["lines"]


def keep(name, written: list, lines: list) -> bool:
    """Store the files a command wrote (read back from disk) and the lines it printed."""
    if name is None or _incomplete:
        return False
    files, total = [], 0
    for path in written:
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError:
            return False
        total += len(data)
        if total > MAX_BYTES:
            return False
        files.append((path, data))
    return disk.save(name, {"files": files, "lines": list(lines)})


def writable(path):
    """A one-line DeriveError unless ``path`` can be written (checked before any work)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DeriveError(f"cannot write {path}: no such folder {folder}; choose a writable path")
    if os.path.isdir(path):
        raise DeriveError(f"cannot write {path}: it is a folder; give a file name like sheet.pdf")
    if not os.access(folder, os.W_OK):
        raise DeriveError(f"cannot write {path}: permission denied; choose a writable path")


def _write(path, data: bytes):
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as err:
        raise DeriveError(f"cannot write {path}: {err.strerror}; choose a writable path") from None
