"""The grading child: runs one untrusted submission under the kernel's limits; reports over a private fd.

The grader starts ``python -I -S -c BOOT`` (under bubblewrap when it works): BOOT reads the
job from stdin (marshal, written by the grader) holding this module's compiled code and that
of ``landlock.py`` and ``seccomp.py``, and calls ``main(job)``. No derive module is loaded and
no derive file is visible in the child: the answer key never exists in this process. Then,
before any learner code runs, it
  1. points stdin at /dev/null (stdout and stderr are a pipe the grader reads, bounded there);
  2. sets resource limits (CPU, address space, file size, processes, open files) and drops
     capabilities, so no hard limit can be raised again;
  3. enters the kernel layers the grader asked for: Landlock (``landlock.py``: read only the
     libraries, the Python installation and NumPy; write only the working directory, and only
     under bwrap, where it is a size-limited tmpfs; no TCP, no signals out) and seccomp
     (``seccomp.py``: no processes, exec, sockets or signals out); if one fails, nothing runs;
  4. installs an audit hook for early, friendly messages (forbidden imports, subprocess,
     sockets...); it is not what security rests on (the kernel layers are);
  5. executes the submission, calls the exercise's function at each point, reading its local
     variables at return with ``recorder.py``'s trace hook (for a loop exercise also each
     statement's values, capped: the history the loop lines are graded on);
  6. writes one JSON report to the result fd and leaves with ``os._exit`` (no atexit code).
The grader validates every byte of the report and scores only numbers it checks itself.
``plain`` is shared with ``derive.exercises.check`` (in-process), and so is ``recorder.py``.
"""
import errno
import math
import os
import resource
import signal
import sys

MAX_ITEMS = 100_000
MAX_LOCALS = 200
MAX_WRITES = 20
MAX_PROCS = 64
MAX_FILES = 256
_BLOCK_EVENTS = ("subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                 "os.forkpty", "os.kill", "os.killpg", "pty.", "socket.", "ctypes.",
                 "signal.", "os.startfile",
                 "winreg.", "mmap.", "resource.setrlimit", "resource.prlimit", "webbrowser.",
                 "urllib.", "http.", "ftplib.", "smtplib.", "telnetlib.", "poplib.", "imaplib.")
_PATH_WRITE_EVENTS = ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.symlink", "os.link",
                      "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.", "os.chdir",
                      "os.mkfifo", "os.mknod", "sqlite3.connect")
# low-level ways to start processes or load code that raise no audit event of their own
_NEVER_IMPORT = {"_posixsubprocess", "_xxsubinterpreters", "cffi", "_cffi_backend"}
# bound before any learner code runs, so patching the modules cannot change the report
try:  # JSON out without importing json (and re, enum...): a third of this process's start-up
    from _json import encode_basestring_ascii as _quote
except ImportError:
    from json.encoder import py_encode_basestring_ascii as _quote
_write, _exit, _repr = os.write, os._exit, float.__repr__


class Refused(Exception):
    """An operation the sandbox does not allow (raised inside the learner's code)."""


def plain(v, depth=0, budget=None):
    """A learner's value as JSON data: numbers, nested lists of numbers, or a type description."""
    budget = budget if budget is not None else [MAX_ITEMS]
    if isinstance(v, (int, float)):  # bools too: True is 1
        return float(v)
    shape = getattr(v, "shape", None)
    if shape is not None and hasattr(v, "tolist") and type(v).__module__.startswith("numpy"):
        size = getattr(v, "size", 0)
        if size > budget[0]:
            return {"type": "too large"}
        budget[0] -= size
        try:
            data = v.astype(float).tolist()
        except (TypeError, ValueError):
            return {"type": f"array of {getattr(v, 'dtype', '?')}"}
        return {"array": data, "shape": list(shape)} if shape else float(data)
    if isinstance(v, (list, tuple)) and depth < 4:
        if len(v) > budget[0]:
            return {"type": "too large"}
        budget[0] -= len(v)
        return [plain(x, depth + 1, budget) for x in v]
    return {"type": type(v).__name__}


def _to_args(point, params, arrays):
    out = []
    for p in params:
        v = point[p]
        if isinstance(v, dict):  # {"array": nested lists}
            out.append(arrays.array(v["array"], dtype=float))
        else:
            out.append(list(v) if isinstance(v, list) else v)
    return out


def _under(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _lock_down(job, tmp):
    forbidden = set(job["forbidden"])
    roots = [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]
    deny = [os.path.join(r, f) for r in roots for f in forbidden] + [os.path.realpath(d) for d in job.get("deny_dirs", [])]
    state = {"on": False, "writes": 0}

    def readable(path):
        if _under(path, tmp) or path in ("/dev/null", "/dev/urandom"):
            return True
        return any(_under(path, r) for r in roots) and not any(_under(path, d) for d in deny)

    def hook(event, args):
        if not state["on"]:
            return
        if event == "import":
            top = str(args[0]).split(".")[0]
            if top in forbidden:
                raise ImportError(f"importing {top} is not allowed in this exercise")
            if top in _NEVER_IMPORT:
                raise ImportError(f"importing {top} is not allowed while grading (it starts processes)")
            return
        if event.startswith(_BLOCK_EVENTS):
            raise Refused(f"{event} is not allowed while grading")
        if event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            if not isinstance(path, (str, bytes)):
                return  # an already open fd
            path = os.path.realpath(os.fsdecode(path))
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND))
            if writing and not _under(path, tmp):
                raise Refused(f"writing {path} is not allowed (only the working directory)")
            if writing:
                state["writes"] += 1
                if state["writes"] > MAX_WRITES:  # each file is capped by RLIMIT_FSIZE
                    raise Refused(f"opening more than {MAX_WRITES} files for writing is not allowed")
            if not writing and not readable(path):
                raise Refused(f"reading {path} is not allowed")
            return
        if event.startswith(_PATH_WRITE_EVENTS):
            for a in args:
                if isinstance(a, (str, bytes)) and not _under(os.path.realpath(os.fsdecode(a)), tmp):
                    raise Refused(f"{event} outside the working directory is not allowed")

    sys.addaudithook(hook)
    return state


def _limits(job):
    cpu = max(1, int(math.ceil(job["time_limit"])) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    size = job["output_limit"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-long writes fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCS, MAX_PROCS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_FILES, MAX_FILES))
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    mem = used + job["memory_limit"]
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))


def _module(name, code):
    """A standard-library-only module of derive's, from the code object the grader compiled."""
    module = type(sys)(f"_derive_{name}")
    exec(code, module.__dict__)
    return module


def _drop_capabilities():
    """As root: keep uid 0 (to read the Python installation) but no capability at all."""
    if os.geteuid() != 0:
        return
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all empty
    if ctypes.CDLL(None, use_errno=True).capset(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def _isolate(iso, tmp, modules):
    """Enter the kernel layers of the job (Landlock, seccomp); raise if one cannot be applied."""
    mods = {n: _module(n, modules[n]) for n in ("landlock", "seccomp") if iso.get(n)}
    _drop_capabilities()
    if "landlock" in mods:
        lock = mods["landlock"]  # writable: bwrap's size-limited tmpfs; a host directory: read only
        own = lock.rules(write=[tmp]) if iso.get("layer") == "bwrap" else lock.rules(read=[tmp])
        lock.restrict([tuple(r) for r in iso["rules"]] + own)
    if "seccomp" in mods:
        mods["seccomp"].install()


def _die_with_parent(seconds, pid_namespace):
    """Never outlive the grader: SIGKILL when it dies (Linux), SIGALRM after the time limit."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1 and not pid_namespace:  # the grader is already gone
        _exit(1)
    signal.alarm(int(math.ceil(seconds)) + 2)


class _Printed:
    """sys.stdout/stderr of the learner: keeps the first ``soft`` characters, drops the rest
    (printing costs no points); past ``hard`` characters a flood ends the run, saying so."""

    def __init__(self, stream, soft, hard):
        self.stream, self.soft, self.hard, self.count = stream, soft, hard, 0

    def write(self, text):
        text = str(text)
        self.count += len(text)
        if self.count > self.hard:
            raise OSError(errno.EFBIG, f"printed more than {self.hard // 2**20} MB")
        room = self.soft - (self.count - len(text))
        if room > 0:
            self.stream.write(text[:room])
        return len(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False


def _explain(err):
    if isinstance(err, MemoryError):
        return "memory limit exceeded (the submission tried to use too much memory)"
    if isinstance(err, OSError) and err.errno == errno.EFBIG:
        return ("output flood: the submission printed or wrote more than the hard cap that "
                "protects the grader; print less (printing itself costs no points)")
    if isinstance(err, SystemExit):
        return "the submission called sys.exit() / exit()"
    if isinstance(err, RecursionError):
        return "maximum recursion depth exceeded"
    if isinstance(err, NotImplementedError):
        return f"not implemented yet (NotImplementedError: {err})"
    msg = " ".join(str(err).split())[:300]
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


def _where(err, filename):
    tb, line = err.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def _json(v):
    """``v`` (None, numbers, str, lists, dicts with str keys) as JSON text, NaN and Infinity allowed."""
    if isinstance(v, float):
        return _repr(v) if v == v and abs(v) != math.inf else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
    if v is None or isinstance(v, (bool, int)):
        return "null" if v is None else ("true" if v is True else "false" if v is False else str(int(v)))
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, dict):
        return "{" + ", ".join(_quote(str(k)) + ": " + _json(x) for k, x in v.items()) + "}"
    return "[" + ", ".join(_json(x) for x in v) + "]"


def _send(fd, report):
    data = _json(report).encode()
    view = memoryview(data)
    while view:
        view = view[_write(fd, view):]
    _exit(0)


def main(job):
    fd, tmp, iso = job["result_fd"], os.path.realpath(job["workdir"]), job.get("isolation") or {}
    os.chdir(tmp)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    sys.stdout = _Printed(open(1, "w", buffering=1, closefd=False, errors="backslashreplace"),
                          job["output_limit"] // 2, 64 * job["output_limit"])
    sys.stderr = sys.stdout
    if iso.get("site"):
        sys.path.append(iso["site"])
    numpy = None
    if job.get("numpy"):  # before the limits: the learner's `import numpy` is then a cache hit
        import numpy
    _die_with_parent(job["time_limit"], iso.get("layer") == "bwrap")
    report = {"calls": [], "error": None}
    os.environ.clear()
    os.environ["TMPDIR"] = tmp
    try:
        _limits(job)
        _isolate(iso, tmp, job["modules"])
    except Exception as err:  # never run learner code with a layer missing
        report["error"] = f"the grading sandbox could not be set up ({type(err).__name__}: {err})"
        _send(fd, report)
    recorder = _module("recorder", job["modules"]["recorder"])
    steps = recorder.plan(job["source"], job["function"]) if job.get("record") else None  # before it runs
    state = _lock_down(job, tmp)
    sys.setrecursionlimit(400)
    filename = job["filename"]
    calls = report["calls"]
    try:
        state["on"] = True
        code = compile(job["source"], filename, "exec")
        ns = {"__name__": "submission", "__file__": filename}
        exec(code, ns)
        fn = ns.get(job["function"])
        if not callable(fn) or not hasattr(fn, "__code__"):
            raise NameError(f"the submission does not define a function {job['function']}()")
        share = max(1, len(job["points"]))
        for point in job["points"]:
            try:
                args, history = _to_args(point, job["params"], numpy), None
                if steps:
                    value, local, history = recorder.call_recorded(
                        fn, args, steps, plain, recorder.MAX_ENTRIES // share, recorder.MAX_NUMBERS // share)
                else:
                    value, local = recorder.call_with_locals(fn, args)
                budget = [MAX_ITEMS]  # shared by the value and the locals of one call
                calls.append({"returned": plain(value, 0, budget),
                              "locals": {k: plain(v, 0, budget) for k, v in local.items()}})
                if history is not None:
                    calls[-1]["history"] = history
            except BaseException as err:  # the learner's error at this point; go on
                if isinstance(err, (MemoryError, SystemExit)) or getattr(err, "errno", None) == errno.EFBIG:
                    raise
                calls.append({"error": _explain(err) + _where(err, filename)})
        sys.stdout.flush()
    except SyntaxError as err:
        report["error"] = f"syntax error on line {err.lineno}: {err.msg}"
    except BaseException as err:
        report["error"] = _explain(err) + _where(err, filename)
    state["on"] = False
    _send(fd, report)


if __name__ == "__main__":  # by hand: python -I -S derive/teach/grading/sandbox_child.py < job (marshal)
    import marshal

    main(marshal.loads(sys.stdin.buffer.read()))
