"""A warm ``derive sheet``: a background process with SymPy already imported draws the next sheets.

A fresh ``derive sheet`` spends most of a second importing SymPy and NumPy before it reads
its first argument, several times what drawing a sheet takes. So the first sheet that is
drawn in a process of its own (the request cache missed) starts this server in the background
(saying so in one line on stderr), and the next ``derive sheet`` commands hand their
arguments to it instead: the server forks a child that runs the command as the client would,
in the client's folder, with its environment, umask, stdin, stdout and stderr (the three
descriptors are passed over the socket), and the client returns the child's exit status.
Ctrl-C in the client interrupts the child. The server stops after ``IDLE`` seconds without a
request.

Only the user who started it can reach it: the socket lives in a folder of the user's own
(``$XDG_RUNTIME_DIR/derive``, else ``/tmp/derive-UID``, mode 0700, refused if another user
owns it or others may write to it), and each connection's peer must be the same user. The
socket's name holds a digest of Python, the installed libraries and derive's own source files
(``derive.core.disk.versions``), so an edited or upgraded derive starts a server of its own and
never asks a stale one. ``DERIVE_SERVER=0`` (or off, no, false) turns this off: every command
then runs in its own process. This module imports neither SymPy nor NumPy (the client's side
must stay fast); the server imports them once.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import stat
import struct
import sys

from derive.core import disk

IDLE = 600.0                 # seconds without a request before the server stops
START = 10.0                 # seconds a client waits for its command to start, else runs it itself
_HEADER = struct.Struct("!I")
_MAX_REQUEST = 1 << 20
_LOCK = None                 # the server's lock file (children close it)


def enabled() -> bool:
    """On unless ``DERIVE_SERVER`` says off, where the system has what it needs (Linux: Unix
    sockets that pass descriptors and name their peer)."""
    return (os.environ.get("DERIVE_SERVER", "1").strip().lower() not in disk.OFF
            and hasattr(socket, "AF_UNIX") and hasattr(socket, "SO_PEERCRED")
            and hasattr(socket, "send_fds"))


def folder() -> str | None:
    """The user's own folder for the socket (made if missing), or None if it is not safe."""
    run = os.environ.get("XDG_RUNTIME_DIR")
    path = os.path.join(run, "derive") if run and os.path.isabs(run) else f"/tmp/derive-{os.getuid()}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return path


def address() -> str | None:
    """The socket's path for this Python, these libraries and this derive."""
    where = folder()
    if where is None:
        return None
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # this derive's folder
    python = os.path.realpath(sys.executable)                           # python, python3: one
    digest = hashlib.sha256(disk.versions() + "\n".join([python, sys.prefix, here]).encode())
    return os.path.join(where, f"sheet-{digest.hexdigest()[:20]}.sock")


# ---- the client -----------------------------------------------------------------------------

def ask(argv) -> int | None:
    """Run ``derive ARGV`` in the server; its exit status, or None if no server answers."""
    if not enabled():
        return None
    path = address()
    if path is None:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(START)
    try:
        sock.connect(path)
        request = json.dumps({"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ),
                              "umask": _umask()}).encode()
        socket.send_fds(sock, [_HEADER.pack(len(request))], [0, 1, 2])
        sock.sendall(request)
        pid = _HEADER.unpack(_read(sock, _HEADER.size))[0]
    except (OSError, ValueError, struct.error):
        sock.close()
        return None                               # no server, a stale socket, or it went away
    sock.settimeout(None)                         # the command takes what it takes
    with sock:
        while True:
            try:
                return _HEADER.unpack(_read(sock, _HEADER.size))[0]
            except KeyboardInterrupt:
                _signal(pid)                      # the child says "interrupted" and exits 130
            except (OSError, ValueError, struct.error):
                print("derive: error: the sheet server stopped before the command finished; "
                      "run it again (DERIVE_SERVER=0 runs it in this process)", file=sys.stderr)
                return 1


def _signal(pid):
    try:
        os.kill(pid, signal.SIGINT)
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _read(sock, n) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
    return data


def spawn() -> bool:
    """Start a server in the background (detached: its own session, no terminal, no pipes of
    ours); True if one was started."""
    import subprocess

    if not enabled() or address() is None:
        return False
    try:
        subprocess.Popen([sys.executable, "-m", "derive.cli.server"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        return False
    return True


# ---- the server -----------------------------------------------------------------------------

def serve(idle: float = IDLE) -> int:
    """Listen until ``idle`` seconds pass without a request. Exits at once if another server
    for the same address holds the lock."""
    import fcntl

    path = address()
    if path is None:
        return 1
    global _LOCK
    lock = _LOCK = open(path + ".lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0                                  # another server has it
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")                # who serves (``kill $(cat ...lock)`` stops it)
    lock.flush()
    _warm()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(path)
    finally:
        os.umask(old)
    server.listen(16)
    server.settimeout(idle)
    children = set()
    signal.signal(signal.SIGTERM, _leave)        # ``kill PID``: the socket is removed too
    try:
        while True:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                if _reap(children):
                    continue                      # a command still runs: wait for it
                return 0
            with conn:
                pid = _start(conn, server)
            if pid:
                children.add(pid)
            _reap(children)
    finally:
        server.close()
        try:
            os.unlink(path)                       # ours: the lock is held until we exit
        except OSError:
            pass


def _leave(signum, frame):
    raise SystemExit(0)


def _reap(children) -> bool:
    """Collect finished children; True while some still run."""
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)
    return bool(children)


def _warm():
    """Import what a sheet needs and draw one, so that the children start where a running
    process's second sheet does."""
    import tempfile

    try:
        from derive import stage
        from derive.cli.commands import _sheet  # noqa: F401
        from derive.sheets.pages import warm
        from derive.sheets.sheet import sheet

        warm()
        with tempfile.TemporaryDirectory() as tmp:
            sheet(stage("x * y + sin(x)"), at={"x": 1, "y": 2}, key=True,
                  path=os.path.join(tmp, "warm.pdf"), cache=False)
    except Exception:  # a server that cannot warm up still answers (each child then imports)
        pass


def _start(conn, server) -> int | None:
    """Read one request and fork its child; the child's pid (None if the request was bad)."""
    fds = []
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return None
        conn.settimeout(5)
        head, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
        size = _HEADER.unpack(head)[0]
        request = json.loads(_read(conn, size)) if size <= _MAX_REQUEST else None
        if (len(fds) != 3 or not isinstance(request, dict)
                or request.get("argv", [None])[:1] != ["sheet"]):
            raise ValueError("not a sheet")       # this server draws sheets, nothing else
    except (OSError, ValueError, TypeError, struct.error):
        for fd in fds:
            os.close(fd)
        return None
    pid = os.fork()
    if pid == 0:                                  # the child: the command, as the client runs it
        code = 1
        try:
            server.close()
            _LOCK.close()
            conn.sendall(_HEADER.pack(os.getpid()))   # first its pid (Ctrl-C), last its status
            code = _child(request, fds)
        finally:
            try:
                conn.sendall(_HEADER.pack(code & 0xFFFFFFFF))
            except OSError:
                pass
            os._exit(0)
    for fd in fds:
        os.close(fd)
    return pid


def _child(request, fds) -> int:
    import tempfile

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["DERIVE_SERVER"] = "0"             # the child runs the command itself
    os.umask(int(request["umask"]))
    tempfile.tempdir = None                       # $TMPDIR as the client has it
    try:
        os.chdir(request["cwd"])
    except OSError as err:
        print(f"derive: error: cannot work in {request['cwd']}: {err.strerror}; "
              f"run the command from a folder that exists", file=sys.stderr)
        return 2
    from derive.cli.main import main

    try:
        return main(request["argv"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(serve(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE))
