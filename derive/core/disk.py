"""A disk cache for work that takes seconds and comes back (SymPy's side of a function, a drawn PDF, font metrics).

Each entry is one file named by the SHA-256 of its key: the kind of entry, its content (the
function's lines, a sheet's whole content) and ``versions()`` (each of derive's own source
files by size and time, Python, SymPy, NumPy, matplotlib, fontTools, pyparsing), so a changed
function, option, sheet or derive never reuses a stale entry. An entry is written to a
temporary file in the same folder and renamed into place (``os.replace`` is atomic: two
processes at once never read half an entry; the last writer wins with the same bytes). A
missing, damaged or unreadable entry is a miss, never an error. Entries are pickles, so a
folder that is not the user's own, or that others may write to, is never read. The folder is
``$DERIVE_CACHE_DIR``, else ``$XDG_CACHE_HOME/derive``, else ``~/.cache/derive``;
``DERIVE_CACHE=0`` (or ``derive sheet --no-cache``, ``derive.sheet(..., cache=False)``) turns
the cache off.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile

OFF = ("0", "off", "no", "false")
MAX_ENTRIES = 2000          # past this many files, the oldest half is removed
_off = False                # turned off for this process (``disable``)


def enabled() -> bool:
    return not _off and os.environ.get("DERIVE_CACHE", "1").strip().lower() not in OFF


class disabled:
    """``with disabled():`` no entry is read or written inside (``--no-cache``)."""

    def __enter__(self):
        global _off
        self.before, _off = _off, True
        return self

    def __exit__(self, *exc):
        global _off
        _off = self.before
        return False


def folder() -> str:
    if os.environ.get("DERIVE_CACHE_DIR"):
        return os.environ["DERIVE_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "derive")


@functools.lru_cache(maxsize=1)
def versions() -> bytes:
    """What every entry depends on besides its content: Python, the libraries a sheet uses
    (their installed versions and version files, found without importing them, so that the
    request cache can be checked before SymPy is imported: ``derive.sheets.request``) and each
    of derive's own source files (path, size and modification time: an edited file is another
    derive)."""
    from importlib.util import find_spec

    h = hashlib.sha256(sys.version.encode())
    for lib in ("sympy", "numpy", "matplotlib", "fontTools", "pyparsing"):
        h.update(f"{lib}\n".encode())
        try:
            spec = find_spec(lib)
            where = os.path.dirname(spec.origin)
        except (ImportError, ValueError, AttributeError, TypeError):
            continue
        h.update(repr(_dist_info(os.path.dirname(where), lib)).encode())
        for name in ("__init__.py", "_version.py", "version.py", "release.py"):
            try:
                with open(os.path.join(where, name), "rb") as fh:
                    h.update(fh.read())
            except OSError:
                pass
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for top, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(top, name)
                st = os.stat(path)
                h.update(f"{os.path.relpath(path, root)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.digest()


def _dist_info(site: str, lib: str) -> list:
    """The names of ``lib``'s installed metadata folders in ``site`` (``sympy-1.14.0.dist-info``:
    the version pip installed), read without importing ``importlib.metadata`` (60 ms)."""
    want = lib.lower().replace("-", "_")
    try:
        names = os.listdir(site)
    except OSError:
        return []
    return sorted(n for n in names if n.endswith((".dist-info", ".egg-info"))
                  and n.split("-")[0].lower().replace(".", "_") == want)


def settings() -> bytes:
    """matplotlib's settings a drawing may read besides derive's own: the matplotlibrc files
    it reads, and the rcParams this process changed since (a notebook may change them)."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    out = []
    for path in ("matplotlibrc", os.environ.get("MATPLOTLIBRC", ""),
                 os.path.join(os.environ.get("MPLCONFIGDIR", ""), "matplotlibrc"),
                 os.path.join(config, "matplotlib", "matplotlibrc")):
        try:
            with open(os.path.join(path, "matplotlibrc") if os.path.isdir(path) else path, "rb") as fh:
                out.append(fh.read())
        except OSError:
            out.append(b"-")
    mpl = sys.modules.get("matplotlib")
    if mpl is not None and hasattr(mpl, "rcParamsOrig"):
        changed = []
        for k, v in mpl.rcParams.items():
            try:
                same = bool(v == mpl.rcParamsOrig[k])
            except Exception:
                same = False
            if not same:
                changed.append((k, repr(v)))
        if changed:
            out.append(repr(sorted(changed)).encode())
    return b"\0".join(out)


def key(kind: str, *parts) -> str:
    """The file name of an entry: ``kind`` and ``parts`` (bytes or str) with ``versions()``."""
    h = hashlib.sha256(kind.encode() + b"\0" + versions())
    for p in parts:
        p = p if isinstance(p, bytes) else str(p).encode()
        h.update(len(p).to_bytes(8, "little") + p)
    return f"{kind}-{h.hexdigest()}"


def load(name: str, kept: bool = False):
    """The object stored under ``name`` (``key(...)``), or None. Entries are pickles, so only
    a folder of this user's that nobody else may write to is read. ``kept``: an entry derived
    from installed files alone (fonts' metrics and subsets), in the ``kept`` subfolder and
    read even when the cache is off (turning it off is about reusing answers, not fonts)."""
    if not (kept or enabled()):
        return None
    try:
        where = _where(kept)
        if not _private(where):
            return None
        with open(os.path.join(where, name), "rb") as fh:
            return pickle.loads(fh.read())
    except Exception:          # missing, half-removed, from another pickle protocol: a miss
        return None


def _private(where) -> bool:
    st = os.stat(where)
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & 0o022


def _where(kept: bool) -> str:
    return os.path.join(folder(), "kept") if kept else folder()


def save(name: str, value, kept: bool = False) -> bool:
    """Store ``value`` under ``name``: written aside, then renamed into place; False if it
    cannot be (no folder, read-only, a value that does not pickle). ``kept``: see ``load``."""
    if not (kept or enabled()):
        return False
    try:
        data = pickle.dumps(value, protocol=4)
        where = _where(kept)
        os.makedirs(folder(), mode=0o700, exist_ok=True)
        os.makedirs(where, mode=0o700, exist_ok=True)
        if not _private(where):
            return False
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, os.path.join(where, name))
        except BaseException:
            os.unlink(tmp)
            raise
        _trim(where)
        return True
    except Exception:
        return False


def _trim(where):
    names = [n for n in os.listdir(where) if not n.startswith(".") and n != "kept"]
    if len(names) <= MAX_ENTRIES:
        return
    def age(n):
        try:
            return os.stat(os.path.join(where, n)).st_mtime
        except OSError:
            return 0
    for n in sorted(names, key=age)[:len(names) // 2]:
        try:
            os.unlink(os.path.join(where, n))
        except OSError:
            pass
