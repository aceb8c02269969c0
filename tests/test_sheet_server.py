"""The sheet server (``derive.cli.server``): started by the first sheet, it draws the next ones
exactly as a process of their own would, for its user only, and stops when idle."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from derive.cli import server
from tests.conftest import ROOT, assert_one_line_error

FXY = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"


def _env(run, **extra):
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)  # no "" (the folder)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), DERIVE_SERVER="1", PYTHONPATH=path)
    return {**env, **extra}


def _derive(env, cwd, *args):
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def _listening(run, timeout=90):
    """Wait until a server answers in ``run``; its pid."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for sock in (run / "derive").glob("*.sock"):
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(str(sock))
                except OSError:
                    continue
            return int((run / "derive" / (sock.name + ".lock")).read_text())
        time.sleep(0.2)
    raise AssertionError("no server started")


def _stop(run):
    for lock in (run / "derive").glob("*.lock"):
        try:
            os.kill(int(lock.read_text()), signal.SIGTERM)
        except (ValueError, OSError):
            pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A runtime folder whose server the first sheet started; (env, its pid, that sheet's run)."""
    run = tmp_path_factory.mktemp("run")
    run.chmod(0o700)
    work = tmp_path_factory.mktemp("work")
    env = _env(run)
    first = _derive(env, work, "sheet", "x*y + tanh(x)", "--at", "x=1,y=2", "-o", "first.pdf")
    try:
        pid = _listening(run)
        yield env, pid, first, run
    finally:
        _stop(run)


def test_the_first_sheet_starts_a_server_and_says_so(served):
    env, pid, first, run = served
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "wrote first.pdf"
    (notice,) = first.stderr.strip().splitlines()
    assert "sheet server now runs in the background" in notice and "DERIVE_SERVER=0" in notice
    sock = next((run / "derive").glob("*.sock"))
    assert sock.stat().st_mode & 0o777 == 0o600 and (run / "derive").stat().st_mode & 0o777 == 0o700
    assert pid != os.getpid()


def test_the_server_draws_the_same_bytes_in_the_clients_folder(served, tmp_path):
    env, pid, _, _ = served
    cache = tmp_path / "cache"
    env = dict(env, DERIVE_CACHE="1", DERIVE_CACHE_DIR=str(cache))
    args = ("sheet", FXY, "--at", "x=3,y=-4", "--key", "-o", "served.pdf")
    got = _derive(env, tmp_path, *args)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "wrote served.pdf"
    assert got.stderr == ""                           # no server to start: the running one drew it
    assert any(cache.iterdir())                       # with the client's environment
    alone = _derive(dict(env, DERIVE_SERVER="0", DERIVE_CACHE="0"), tmp_path,
                    *args[:-1], "alone.pdf")
    assert alone.returncode == 0 and alone.stderr == ""
    assert (tmp_path / "served.pdf").read_bytes() == (tmp_path / "alone.pdf").read_bytes()


def test_bad_input_through_the_server_is_one_line_and_exit_2(served, tmp_path):
    env, _, _, _ = served
    assert_one_line_error(_derive(env, tmp_path, "sheet", "x*/y", "--at", "x=1", "-o", "a.pdf"),
                          "syntax")
    assert_one_line_error(_derive(env, tmp_path, "sheet", "x*y", "--at", "x=1,y=2", "-o",
                                  "no/such/folder/a.pdf"), "no such folder")
    assert not (tmp_path / "a.pdf").exists()


def test_the_server_runs_sheets_only_and_for_its_user(served, monkeypatch):
    env, _, _, run = served
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("DERIVE_SERVER", "1")
    path = server.address()
    assert os.path.exists(path)
    assert server.ask(["grade", "x"]) is None         # refused: the client runs it itself
    with socket.socket(socket.AF_UNIX) as s:          # a request without descriptors: closed
        s.connect(path)
        s.sendall(b"\x00\x00\x00\x02{}")
        assert s.recv(4) == b""


@pytest.mark.parametrize("mode, owner", [(0o777, None), (0o755, None), (0o700, 12345)])
def test_a_folder_others_may_write_or_own_is_never_used(tmp_path, monkeypatch, mode, owner):
    if owner is not None and os.getuid() != 0:
        pytest.skip("changing a folder's owner needs root")
    (tmp_path / "derive").mkdir()
    (tmp_path / "derive").chmod(mode)
    if owner is not None:
        os.chown(tmp_path / "derive", owner, -1)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("DERIVE_SERVER", "1")
    assert server.folder() is None and server.address() is None
    assert server.ask(["sheet", "x"]) is None and server.spawn() is False


def test_derive_server_0_runs_alone_and_starts_nothing(tmp_path):
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    got = _derive(_env(run, DERIVE_SERVER="0"), tmp_path, "sheet", "x*y", "--at", "x=1,y=2",
                  "-o", "a.pdf")
    assert got.returncode == 0 and got.stderr == ""
    assert not (run / "derive").exists()


@contextlib.contextmanager
def _server(tmp_path, idle):
    """A server started by hand in a runtime folder of its own: (the folder, its process)."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    proc = subprocess.Popen([sys.executable, "-m", "derive.cli.server", str(idle)], env=_env(run),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _listening(run) == proc.pid
        yield run, proc
    finally:
        proc.kill()


def test_an_idle_server_stops_and_removes_its_socket(tmp_path):
    with _server(tmp_path, 3) as (run, proc):
        assert proc.wait(timeout=60) == 0
        assert not list((run / "derive").glob("*.sock"))
        again = subprocess.run([sys.executable, "-m", "derive.cli.server", "1"], env=_env(run),
                               timeout=120)
        assert again.returncode == 0                  # the lock is free again: a new one serves


def test_a_second_server_for_the_same_derive_leaves_at_once(served):
    env, pid, _, _ = served
    other = subprocess.run([sys.executable, "-m", "derive.cli.server"], env=env, timeout=60)
    assert other.returncode == 0
    os.kill(pid, 0)                                    # the first still serves


def test_a_terminated_server_removes_its_socket(tmp_path):
    with _server(tmp_path, 60) as (run, proc):
        proc.terminate()                               # kill PID
        assert proc.wait(timeout=30) == 0
        assert not list((run / "derive").glob("*.sock"))


@pytest.mark.parametrize("server_on", ["0", "1"])
def test_a_removed_folder_is_one_line(served, tmp_path, server_on):
    env, _, _, _ = served
    script = os.path.join(os.path.dirname(sys.executable), "derive")   # (python -m needs the folder)
    if not os.path.exists(script):
        pytest.skip("the derive command is not installed beside this Python")
    gone = tmp_path / "gone"
    gone.mkdir()
    got = subprocess.run(["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "{script}" '
                          'sheet "x*y" --at x=1,y=2 -o a.pdf'],
                         capture_output=True, text=True, timeout=120,
                         env=dict(env, DERIVE_SERVER=server_on))
    assert_one_line_error(got, "the current folder no longer exists")


def test_python_and_python3_reach_one_server(tmp_path, monkeypatch):
    here = os.path.dirname(sys.executable)
    names = [n for n in ("python", "python3") if os.path.exists(os.path.join(here, n))]
    if len(names) < 2:
        pytest.skip("this Python has one name")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    found = set()
    for name in names:              # `derive` runs python3, `python -m derive` python: one server
        monkeypatch.setattr(sys, "executable", os.path.join(here, name))
        found.add(server.address())
    assert len(found) == 1 and None not in found


def test_a_server_that_does_not_answer_is_passed_over(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("DERIVE_SERVER", "1")
    monkeypatch.setattr(server, "START", 0.5)
    with socket.socket(socket.AF_UNIX) as mute:       # listens, never answers: no hang
        mute.bind(server.address())
        mute.listen(1)
        start = time.monotonic()
        assert server.ask(["sheet", "x*y", "--at", "x=1,y=2"]) is None
        assert time.monotonic() - start < 5
