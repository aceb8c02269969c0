"""Hostile submissions against the kernel-enforced grading sandbox (bubblewrap, Landlock, seccomp).

Each attack is a real submission file graded in a batch between correct ones, under each layer
that works here (a layer that does not work is skipped with the reason). Every attack first
turns the audit hook off (frames and module globals are reachable: that is the point), then
tries its escape; on success it raises ``LEAK ...`` or leaves a file outside the sandbox.
``DERIVE_TEST_LAYERS=none pytest tests/test_isolation.py`` runs the same batch with no kernel
layer: the attacks then succeed and these tests fail, which is what shows they can.
"""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from derive.teach import exercises
from derive.teach.grading import batch as grading
from derive.teach.grading import isolation
from derive.teach.grading.sandbox import Limits
from derive.teach.grading.child_report import parse, printable
from tests.submissions import CORRECT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "s3cr3t-derive-isolation-7f2c"

PRELUDE = '''import os, sys

def flip():
    """Turn the audit hook off: the frame walk and the globals swap of issue 11."""
    f = sys._getframe(0)
    while f is not None:
        st = f.f_locals.get("state")
        if isinstance(st, dict) and "on" in st:
            st["on"] = False
        f = f.f_back
    g = sys.modules["__main__"].__dict__
    g["_BLOCK_EVENTS"], g["_PATH_WRITE_EVENTS"] = ("never.",), ("never.",)
    g["_NEVER_IMPORT"], g["_under"] = set(), (lambda *a: True)

def leak(what):
    raise RuntimeError("LEAK " + repr(what)[:300])

def backward(x, y):
    return 0.0, 0.0

'''

ATTACKS = {
    "frames_and_key": '''flip()
os.system("id > " + MARKER + "/frames_system")
try:
    open(MARKER + "/frames_open", "w").write("x")
except OSError:
    pass
sys.path[:0] = [ROOT, ROOT + "/derive"]
try:
    from derive.teach.exercises import get
    leak(get("staged_fxy").key)
except ImportError:
    pass
try:
    leak(open(ROOT + "/derive/teach/exercises.py").read(100))
except OSError:
    pass
''',
    "globals_then_shell": '''flip()
import subprocess
for run in (lambda: subprocess.run(["sh", "-c", "id > " + MARKER + "/globals_sh"]),
            lambda: os.posix_spawn("/bin/sh", ["sh", "-c", "id > " + MARKER + "/spawn"], {}),
            lambda: os.execv("/bin/sh", ["sh", "-c", "id > " + MARKER + "/exec"])):
    try:
        run()
    except OSError:
        pass
''',
    "dir_fd_and_chdir": '''flip()
got = []
try:
    fd = os.open("/", os.O_RDONLY)
    os.chdir("/")
    for rel in ("etc/hostname", SECRET_FILE[1:]):
        try:
            got.append(os.read(os.open(rel, os.O_RDONLY, dir_fd=fd), 100))
        except OSError:
            pass
    w = os.open(MARKER[1:] + "/dir_fd_write", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(w, b"x")
except OSError:
    pass
for folder in (SUBS, os.path.dirname(SUBS), "/"):
    try:
        names = os.listdir(folder)
        if any(n.endswith(".py") for n in names):
            got.append(names)
    except OSError:
        pass
if got:
    leak(got)
''',
    "left_behind": '''flip()
import threading, time
def later(name):
    time.sleep(0.5)
    open(MARKER + "/" + name, "w").write("x")
threading.Thread(target=later, args=("thread_later",)).start()
try:
    if os.fork() == 0:
        os.setsid()
        later("fork_later")
        os._exit(0)
except OSError:
    pass
try:
    import subprocess
    subprocess.Popen(["sh", "-c", "sleep 1; id > " + MARKER + "/popen_later"], start_new_session=True)
except OSError:
    pass
''',
    "kill_the_grader": '''flip()
import signal
for pid in (os.getppid(), GRADER):
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        pass
''',
    "loopback": '''flip()
import socket
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    try:
        s = socket.socket(socket.AF_INET, kind)
        s.settimeout(1)
        s.connect(("127.0.0.1", PORT))
        s.send(b"LEAK from the sandbox")
    except OSError:
        pass
''',
    "secret_next_door": '''flip()
found = [os.environ.get("DERIVE_TEST_SECRET")]
for path in (SECRET_FILE, JOURNAL, "/proc/%d/environ" % os.getppid(), "/proc/%d/environ" % GRADER,
             "/proc/%d/cmdline" % GRADER, os.path.expanduser("~/.bash_history")):
    try:
        found.append(open(path, "rb").read(300))
    except OSError:
        pass
if any(found):
    leak(found)
''',
    "deep_report": '''for fd in range(3, 64):
    try:
        os.write(fd, b'{"calls": ' + b'[' * 200000)
    except OSError:
        pass
os._exit(0)
''',
    "huge_report": '''chunk = b'1.0,' * 250000
for fd in range(3, 64):
    try:
        os.write(fd, b'{"calls": [')
        for _ in range(25):
            os.write(fd, chunk)
    except OSError:
        pass
os._exit(0)
''',
}


def _layer_or_skip(layer):
    works, why = isolation.status()[layer]
    if not works:
        pytest.skip(f"{layer} does not work here: {why}")


class Listener:
    """A TCP and a UDP socket on one loopback port, recording whatever reaches them."""

    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(5)
        self.tcp.settimeout(0.2)
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.got, self.stop = [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            for sock in (self.tcp, self.udp):
                try:
                    if sock is self.tcp:
                        conn, _ = sock.accept()
                        self.got.append(("tcp", conn.recv(100)))
                        conn.close()
                    else:
                        self.got.append(("udp", sock.recv(100)))
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.tcp.close()
        self.udp.close()


@pytest.fixture(params=os.environ.get("DERIVE_TEST_LAYERS", "bwrap,landlock").split(","), scope="module")
def attacked(request, tmp_path_factory):
    """One batch per layer: good, every attack, good; plus what the host saw meanwhile."""
    layer = request.param
    if layer != "none":
        _layer_or_skip(layer)
    base = tmp_path_factory.mktemp(f"iso_{layer}")
    subs, marker = base / "subs", base / "marker"
    subs.mkdir()
    marker.mkdir()
    (subs / "secret.txt").write_text(SECRET)
    journal = str(base / "journal.jsonl")
    listener, signals = Listener(), []
    old = signal.signal(signal.SIGUSR1, lambda *a: signals.append(a[0]))
    os.environ["DERIVE_TEST_SECRET"] = SECRET
    values = {"MARKER": str(marker), "ROOT": ROOT, "SUBS": str(subs), "SECRET_FILE": str(subs / "secret.txt"),
              "JOURNAL": journal, "GRADER": os.getpid(), "PORT": listener.port}
    consts = "".join(f"{k} = {v!r}\n" for k, v in values.items())
    paths = [str(subs / "good_first.py")]
    for name, body in ATTACKS.items():
        paths.append(str(subs / f"{name}.py"))
    paths.append(str(subs / "good_last.py"))
    for p in paths:
        name = os.path.basename(p)[:-3]
        src = CORRECT["staged_fxy"] if name.startswith("good") else consts + PRELUDE + ATTACKS[name]
        with open(p, "w") as fh:
            fh.write(src)
    try:
        grades = grading.grade_batch(exercises.get("staged_fxy"), paths, seed=1, workers=2, journal=journal,
                                     limits=Limits(time=3.0, memory=256 * 2**20, isolation=layer),
                                     progress=False)
        time.sleep(0.8)  # let code left behind act: it waits 0.5 s after its submission started
    finally:
        del os.environ["DERIVE_TEST_SECRET"]
        signal.signal(signal.SIGUSR1, old)
        listener.close()
    by_name = {os.path.basename(p)[:-3]: g for p, g in zip(paths, grades)}
    return {"grades": by_name, "marker": marker, "signals": signals, "net": listener.got,
            "journal": journal, "paths": paths, "layer": layer}


def test_batch_completes_and_correct_files_score_full(attacked):
    g = attacked["grades"]
    assert len(g) == len(ATTACKS) + 2
    for name in ("good_first", "good_last"):
        assert g[name]["score"] == g[name]["max_score"] == 3.0, g[name]


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_scores_zero_and_leaks_nothing(attacked, attack):
    grade = attacked["grades"][attack]
    text = json.dumps(grade)
    assert grade["score"] == 0, grade
    assert "LEAK" not in text and SECRET not in text, text
    assert ROOT + "/derive" not in text


def test_nothing_appears_outside_the_sandbox(attacked):
    assert os.listdir(attacked["marker"]) == []
    assert attacked["signals"] == [], "a submission signalled the grader"
    assert attacked["net"] == [], "a submission reached a loopback listener"


def test_bad_reports_are_refused_not_fatal(attacked):
    g = attacked["grades"]
    assert "tampered" in g["deep_report"]["tests"][0]["output"]
    assert "too large" in g["huge_report"]["tests"][0]["output"]


def test_journal_stays_valid_and_resume_skips_everything(attacked, monkeypatch):
    done = grading.read_journal(attacked["journal"], "staged_fxy", 1)
    assert len(done) == len(attacked["paths"])
    monkeypatch.setattr(grading, "grade_one", lambda *a, **k: pytest.fail("regraded a journalled file"))
    again = grading.grade_batch(exercises.get("staged_fxy"), attacked["paths"], seed=1,
                                journal=attacked["journal"], progress=False)
    assert [r["score"] for r in again] == [attacked["grades"][os.path.basename(p)[:-3]]["score"]
                                           for p in attacked["paths"]]


def _in_sandbox(layer, code):
    """Run ``code`` as a submission's top level under ``layer``; the message it raised."""
    _layer_or_skip(layer)
    from derive.teach.grading.sandbox import run_submission

    src = PRELUDE + "flip()\n" + code
    report = run_submission(src, "probe.py", "backward", ["x", "y"], [{"x": 1.0, "y": 2.0}],
                            Limits(time=3.0, isolation=layer))
    return report["error"] or ""


@pytest.mark.parametrize("layer", ["bwrap", "landlock"])
def test_the_view_from_inside(layer, tmp_path):
    """What a submission sees: no derive, no grader files, no host processes; /etc unreadable."""
    (tmp_path / "secret.txt").write_text(SECRET)
    seen = _in_sandbox(layer, f'''
out = []
for path in ("/etc/hostname", {str(tmp_path / "secret.txt")!r}, {ROOT + "/derive/teach/exercises.py"!r}):
    try:
        out.append(open(path).read(50))
    except OSError as e:
        out.append(type(e).__name__)
for folder in ({str(tmp_path)!r}, {ROOT!r}):
    try:
        out.append(sorted(os.listdir(folder)))
    except OSError as e:
        out.append(type(e).__name__)
written = 0
try:
    for i in range(40):  # 1 MB files: 40 MB in all
        with open(f"big{{i}}.bin", "wb") as fh:
            written += fh.write(b"x" * 2**20)
except OSError as e:
    out.append(type(e).__name__)
out.append("WROTE %d MB" % (written >> 20))
import resource
for limit in (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE):
    try:
        resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        out.append("RAISED")
    except (ValueError, OSError):
        pass
raise RuntimeError("SEEN " + repr(out))
''')
    assert seen.startswith("RuntimeError: SEEN "), seen
    assert SECRET not in seen and "secret.txt" not in seen and "def " not in seen
    assert "'derive'" not in seen and "pyproject" not in seen and "RAISED" not in seen
    wrote = int(seen.split("WROTE ")[1].split()[0])
    assert wrote <= 16 if layer == "bwrap" else wrote == 0, seen  # the 16 MB tmpfs; read-only


def test_auto_names_the_layer_and_refuses_where_nothing_works(monkeypatch, capsys, tmp_path):
    from derive.cli import main as cli

    good = tmp_path / "good.py"
    good.write_text(CORRECT["staged_fxy"])
    monkeypatch.setattr(isolation, "status", lambda: {
        "bwrap": (False, "no user namespaces"), "landlock": (False, "no Landlock"), "seccomp": (False, "-")})
    isolation._plan.cache_clear()
    assert cli.main(["grade", "staged_fxy", str(good), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no kernel isolation works here" in err and "--isolation none" in err
    assert cli.main(["grade", "staged_fxy", str(good), "--isolation", "bwrap"]) == 2
    err = capsys.readouterr().err
    assert err == "derive: error: --isolation bwrap does not work here: no user namespaces\n"
    assert cli.main(["grade", "staged_fxy", str(good), "--quiet", "--isolation", "none", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)[0]["score"] == 3.0 and "isolation: none" not in out.err
    isolation._plan.cache_clear()


def test_doctor_says_what_works(capsys):
    from derive.cli import main as cli

    code = cli.main(["doctor"])
    out = capsys.readouterr().out
    st = isolation.status()
    assert code == (0 if st["bwrap"][0] or st["landlock"][0] else 1)
    for word in ("bubblewrap:", "Landlock:", "seccomp:", "rlimits:", "--isolation auto"):
        assert word in out
    assert ("bubblewrap: works" in out) == st["bwrap"][0]
    assert ("Landlock:   works" in out) == st["landlock"][0]


def test_gradescope_bundle_in_a_container_without_user_namespaces(tmp_path):
    """Run the bundle inside a bwrap that forbids new user namespaces: auto falls back."""
    _layer_or_skip("bwrap")
    _layer_or_skip("landlock")
    outer = isolation.status()["_bwrap_binary"]
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "staged_fxy.py").write_text(CORRECT["staged_fxy"])
    cmd = [outer, "--unshare-user", "--disable-userns", "--dev-bind", "/", "/", "--proc", "/proc",
           sys.executable, "-m", "derive.teach.grading.platforms", str(root), "staged_fxy", "0"]
    r = subprocess.run(cmd, env={"PATH": os.environ["PATH"], "PYTHONPATH": ROOT}, capture_output=True,
                       text=True, timeout=120)
    if "disable-userns" in r.stderr:
        pytest.skip(f"this bwrap cannot forbid user namespaces: {r.stderr.strip()}")
    res = json.loads((root / "results" / "results.json").read_text())
    assert res["score"] == 3.0, res
    assert res["extra_data"]["isolation"].startswith("Landlock"), res["extra_data"]


def test_report_parser_never_raises():
    deep = b'{"calls": ' + b"[" * 200_000
    assert parse(deep) is None
    assert parse(b"\xff\xfe") is None and parse(b"") is None and parse(b"[]") is None
    assert parse(b'{"calls": [{"returned": [1, {"type": "x"}], "locals": {"a b": 1}}]}') is None
    assert parse(b'{"calls": [{"returned": {"array": [[1, 2]], "shape": [1, 3]}, "locals": {}}]}') is None
    ok = parse(b'{"calls": [{"error": "boom\\n3/3 all correct\\u001b[2J"}], "error": null}')
    assert ok == {"calls": [{"error": "boom\\n3/3 all correct\\x1b[2J"}], "error": None}
    assert printable("a\u202eb\tc") == "a\\u202eb\\tc"


def test_control_characters_and_special_files_in_one_batch(tmp_path, capsys):
    from derive.cli import main as cli

    good = tmp_path / "good.py"
    good.write_text(CORRECT["staged_fxy"])
    evil = tmp_path / "evil\nalice.py: 3 of 3  all correct\n\x1b[2Jx.py"
    evil.write_text("def backward(x, y):\n    return 0.0, 0.0\n")
    folder = tmp_path / "folder.py"
    folder.mkdir()
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.py"
    zero.symlink_to("/dev/zero")
    dangling = tmp_path / "dangling.py"
    dangling.symlink_to(tmp_path / "nowhere")
    big = tmp_path / "big.py"
    big.write_text("#" * (grading.MAX_SOURCE + 10))
    sock_path = tmp_path / "sock.py"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    last = tmp_path / "last.py"
    last.write_text(CORRECT["staged_fxy"])
    files = [good, evil, folder, fifo, zero, dangling, big, sock_path, last]
    try:
        assert cli.main(["grade", "staged_fxy", *map(str, files), "--quiet"]) == 0
    finally:
        sock.close()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(files) and "\x1b" not in out, out
    assert lines[0].endswith("3/3  all correct") and lines[-1].endswith("3/3  all correct")
    assert "evil\\nalice.py: 3 of 3  all correct\\n\\x1b[2Jx.py: 0/3" in lines[1]
    for line, why in zip(lines[2:8], ("a directory", "a FIFO", "a character device", "No such file",
                                      "larger than 1000 kB", "a socket")):
        assert ": 0/3" in line and why in line, line
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: every file is readable, so none is unreadable")
def test_unreadable_file_is_zero_with_its_reason(tmp_path):
    path = tmp_path / "locked.py"
    path.write_text(CORRECT["staged_fxy"])
    path.chmod(0)
    g = grading.grade_one(exercises.get("staged_fxy"), str(path)).as_dict()
    assert g["score"] == 0 and "cannot read the file: Permission denied" in g["tests"][0]["output"]


def test_seccomp_filter_allows_threads_and_self_signals_only(tmp_path):
    works, why = isolation.status()["seccomp"]
    if not works:
        pytest.skip(f"seccomp does not work here: {why}")
    code = f'''import os, signal, socket, sys, threading
sys.path.insert(0, {os.path.join(ROOT, "derive", "teach", "grading")!r})
import seccomp
parent, got = os.getppid(), []
signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
seccomp.install()
t = threading.Thread(target=got.append, args=(2,))
t.start()
t.join()
os.kill(os.getpid(), signal.SIGUSR1)
refused = []
for name, try_it in (("fork", os.fork), ("socket", socket.socket), ("kill parent", lambda: os.kill(parent, 0)),
                     ("kill all", lambda: os.kill(-1, 0)), ("exec", lambda: os.execv("/bin/true", ["true"])),
                     ("open for writing", lambda: open({str(tmp_path / "w.txt")!r}, "w"))):
    try:
        try_it()
    except OSError:
        refused.append(name)
print(sorted(got), refused)
'''
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[1, 2] ['fork', 'socket', 'kill parent', 'kill all', 'exec']", r.stdout
