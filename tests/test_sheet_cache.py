"""The disk cache of sheets (derive/core/disk.py): a cached sheet is the sheet drawn afresh,
byte for byte; any change of function, option or number is a new entry; it can be turned off;
two processes at once and a damaged entry are safe."""
import os
import pickle
import subprocess
import sys

import pytest

from derive import stage
from derive.core import disk
from derive.sheets.sheet import render, sheet, sheets_for
from tests.conftest import ROOT
from tests.test_sheet_geometry import LOGEXP, LOSS_AT, two_layer

FXY = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("DERIVE_CACHE", "1")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(folder))
    return folder


def entries(folder, kind=""):
    return sorted(n for n in os.listdir(folder) if n.startswith(kind) and n != "kept") if folder.exists() else []


def drawn(prog, point, **kw):
    return render(sheets_for(prog, point, **kw))


@pytest.mark.parametrize("expr,point", [(FXY, {"x": 3, "y": -4}), (LOGEXP, {"x": 1, "y": -0.5})])
def test_cached_sheet_is_the_sheet_drawn_afresh(expr, point, cache, monkeypatch):
    prog = stage(expr)
    with disk.disabled():
        fresh = drawn(prog, point, worksheet=True, key=True)
    assert entries(cache) == []                            # off: nothing written
    first = drawn(prog, point, worksheet=True, key=True)  # a miss: computed, then stored
    assert {n.split("-")[0] for n in entries(cache)} >= {"path", "pdf", "sympy"}
    again = drawn(prog, point, worksheet=True, key=True)  # a hit
    assert fresh == first == again
    # SymPy's side from the cache: no worker started, the same content as computed
    cold = sheets_for(prog, point, key=True, meanwhile=lambda: None)
    with disk.disabled():
        ref = sheets_for(prog, point, key=True)
    assert cold[0].symbolic == ref[0].symbolic and cold[0].sizes == ref[0].sizes
    assert cold[0].swell == ref[0].swell and cold[0].paths == ref[0].paths
    assert all(block["agrees"] for block in cold[0].paths)


def test_array_sheet_cached_equals_uncached(cache):
    prog = two_layer()
    with disk.disabled():
        fresh = drawn(prog, LOSS_AT, key=True)
    first, again = drawn(prog, LOSS_AT, key=True), drawn(prog, LOSS_AT, key=True)
    assert fresh == first == again and len(entries(cache, "pdf")) == 1
    assert len(entries(cache, "componentwise")) == 1            # the symbolic side, by values


def test_a_change_of_function_option_or_number_is_a_new_entry(cache):
    prog = stage(FXY)
    base = drawn(prog, {"x": 3, "y": -4}, key=True)
    changes = [(prog, {"x": 3, "y": -3}, {"key": True}),           # a number
               (prog, {"x": 3, "y": -4}, {"key": True, "digits": 3}),   # an option
               (prog, {"x": 3, "y": -4}, {"worksheet": True}),
               (stage("(x + sigmoid(y)) / (sigmoid(x) + (x - y)**2)"), {"x": 3, "y": -4},
                {"key": True})]                                     # the function
    for p, point, kw in changes:
        cached = drawn(p, point, **kw)
        with disk.disabled():
            assert cached == drawn(p, point, **kw) != base
    assert len(entries(cache, "pdf")) == 1 + len(changes)
    assert len(entries(cache, "sympy-gradient")) == 2


def test_key_depends_on_derive_and_library_versions(monkeypatch):
    k = disk.key("pdf", b"content")
    assert k == disk.key("pdf", b"content") != disk.key("pdf", b"content2")
    monkeypatch.setattr(disk, "versions", lambda: b"another derive")
    assert disk.key("pdf", b"content") != k


def test_turned_off_by_the_environment_the_api_and_the_cli(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVE_CACHE", "0")
    sheet("x*y + x", at={"x": 1, "y": 2}, path=str(tmp_path / "a.pdf"))
    assert entries(cache) == []
    monkeypatch.setenv("DERIVE_CACHE", "1")
    sheet("x*y + x", at={"x": 1, "y": 2}, path=str(tmp_path / "b.pdf"), cache=False)
    assert entries(cache) == []
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = [sys.executable, "-m", "derive", "sheet", "x*y + x", "--at", "x=1,y=2", "-o"]
    subprocess.run(run + [str(tmp_path / "c.pdf"), "--no-cache"], env=env, check=True,
                   capture_output=True)
    assert entries(cache) == []
    subprocess.run(run + [str(tmp_path / "d.pdf")], env=env, check=True, capture_output=True)
    assert entries(cache, "pdf")
    assert len({(tmp_path / f"{n}.pdf").read_bytes() for n in "abcd"}) == 1


def test_two_processes_at_once_and_a_damaged_entry(cache, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = [sys.executable, "-m", "derive", "sheet", LOGEXP, "--at", "x=1,y=-0.5", "--key", "-o"]
    procs = [subprocess.Popen(run + [str(tmp_path / f"{i}.pdf")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(2)]
    assert all(p.wait(120) == 0 for p in procs)
    assert not [n for n in os.listdir(cache) if n.startswith(".tmp")]   # renamed into place
    one, two = (tmp_path / "0.pdf").read_bytes(), (tmp_path / "1.pdf").read_bytes()
    assert one == two and len(entries(cache, "pdf")) == 1    # the same key in each process
    subprocess.run(run + [str(tmp_path / "2.pdf")], env=env, check=True, capture_output=True)
    assert (tmp_path / "2.pdf").read_bytes() == one and len(entries(cache, "pdf")) == 1
    for name in entries(cache):                       # cut short: a miss, drawn again
        path = cache / name
        path.write_bytes(path.read_bytes()[:40])
    again = drawn(stage(LOGEXP), {"x": 1, "y": -0.5}, key=True)
    assert again == one


def test_a_folder_others_may_write_to_is_not_read(cache):
    prog = stage("x*y + x")
    first = drawn(prog, {"x": 1, "y": 2}, key=True)
    name = entries(cache, "pdf")[0]
    (cache / name).write_bytes(pickle.dumps(b"%PDF planted"))   # what another user put
    os.chmod(cache, 0o777)
    try:
        assert disk.load(name) is None
        assert drawn(prog, {"x": 1, "y": 2}, key=True) == first
    finally:
        os.chmod(cache, 0o700)
    assert disk.load(name) == b"%PDF planted"            # the same entry, read when private


@pytest.mark.parametrize("expr", ["x*y + 1", FXY])     # no fork, and forks
def test_a_function_seen_before_starts_no_worker(expr, cache):
    from derive.sheets.workers import Symbolic

    prog = stage(expr)
    sheets_for(prog, {"x": 3, "y": -4}, key=True)
    job = Symbolic(prog)
    job.check_paths()
    assert not job.working() and job.static()[1]["symbolic_status"] == "ok"
    job.cancel()


def _cli(tmp_path, *args, check=True):
    """``derive sheet ARGS`` in a fresh process; (exit status, stdout, SymPy was imported)."""
    code = ("import sys; from derive.cli.main import main; rc = main(sys.argv[1:]); "
            "print('sympy imported' if 'sympy' in sys.modules else 'no sympy'); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, "sheet", *args], cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True)
    assert r.returncode == 0 or not check, r.stderr
    return r.returncode, r.stdout.splitlines()[:-1], r.stdout.splitlines()[-1] == "sympy imported"


def test_a_command_asked_again_is_replayed_without_sympy(cache, tmp_path):
    src = tmp_path / "f.py"
    src.write_text("def f(x, y):\n    a = x * y\n    return a + x\n")
    run = ["f.py:f", "--at", "x=1,y=2", "--key", "-o", "out.pdf"]
    rc, lines, sympy = _cli(tmp_path, *run)
    first = (tmp_path / "out.pdf").read_bytes()
    assert lines == ["wrote out.pdf"] and sympy and len(entries(cache, "request")) == 1
    (tmp_path / "out.pdf").unlink()
    rc, again, sympy = _cli(tmp_path, *run)
    assert again == lines and not sympy and (tmp_path / "out.pdf").read_bytes() == first
    # a file beside it (a helper may come from it), an option, a number: each a miss
    (tmp_path / "helpers.py").write_text("EPS = 1\n")
    assert _cli(tmp_path, *run)[2]
    assert _cli(tmp_path, *run[:-2], "--digits", "3", "-o", "out.pdf")[2]
    assert _cli(tmp_path, "f.py:f", "--at", "x=1,y=3", "--key", "-o", "out.pdf")[2]
    assert len(entries(cache, "request")) == 4
    src.write_text("def f(x, y):\n    a = x * y\n    return a - x\n")       # the function
    assert _cli(tmp_path, *run)[2] and (tmp_path / "out.pdf").read_bytes() != first
    # a bad output path is refused on a hit too, in one line
    rc, out, _ = _cli(tmp_path, *run[:-1], "nowhere/out.pdf", check=False)
    assert rc == 2


def test_a_command_whose_budget_ran_out_is_not_kept(cache, tmp_path, monkeypatch):
    from derive.sheets import request

    monkeypatch.setattr(request, "_incomplete", False)
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    assert request.keep("request-x", [str(tmp_path / "a.pdf")], ["wrote a.pdf"])
    request.incomplete()
    assert not request.keep("request-y", [str(tmp_path / "a.pdf")], ["wrote a.pdf"])
    assert request.replay("request-x", str(tmp_path / "b.pdf")) == ["wrote a.pdf"]
    assert (tmp_path / "a.pdf").read_bytes() == b"%PDF"


def test_a_fifo_beside_the_target_or_as_the_roster_never_hangs(cache, tmp_path):
    """The request cache reads every .py file beside the target, and a roster is read by
    content: a FIFO there (nobody ever writes to it) is a marker or a one-line refusal."""
    from derive.sheets import request

    (tmp_path / "f.py").write_text("def f(x, y):\n    return x * y + x\n")
    os.mkfifo(tmp_path / "evil.py")
    assert request._content(str(tmp_path / "evil.py")).startswith(b"not a file")
    base = [sys.executable, "-m", "derive", "sheet"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run(base + ["f.py:f", "--at", "x=1,y=2", "-o", "out.pdf"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and (tmp_path / "out.pdf").exists(), r.stderr
    r = subprocess.run(base + ["x*y", "--roster", "evil.py", "--split", "-o", "c.pdf"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "derive: error: roster 'evil.py' is not a regular file: give a text file"], r.stderr
