"""Platform containers emulated with bubblewrap: Gradescope's /autograder and PrairieLearn's /grade.

Neither platform's image can be pulled here (no Docker daemon, no Docker Hub), so each run is a
fresh bubblewrap container built from this host's /usr and /etc (read-only) with empty /root,
/tmp and /usr/local, and the platform's directory layout bound in from a scratch folder:

- Gradescope: ``/autograder/source`` holds the unzipped bundle; ``bash setup.sh`` runs there as
  root with network, then ``/autograder/run_autograder`` (copied there, as Gradescope does) runs
  once per submission, cwd ``/autograder``, with ``/autograder/submission`` and
  ``/autograder/submission_metadata.json`` fresh each time. ``python3`` on PATH is a CPython 3.10
  (Ubuntu 22.04's version), so derive cannot use the system Python.
- PrairieLearn: ``/grade/serverFilesCourse/derive_grader``, ``/grade/student``, ``/grade/data``;
  no network; ``python3`` is the running test venv bound at ``/venv`` and first on PATH (as in
  ``prairielearn/grader-python``: a uv venv at /venv with numpy, sympy and matplotlib).

``uv python install`` downloads from GitHub, which this machine cannot reach; ``standalone_python``
packs a local CPython installation in the python-build-standalone layout and describes it in a
downloads JSON that uv reads through ``UV_PYTHON_DOWNLOADS_JSON_URL``. Everything else (uv itself,
derive's dependencies) comes from PyPI as on the platform.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
import zipfile

CA = "/etc/ssl/certs/ca-certificates.crt"


def bwrap() -> str | None:
    """A bwrap that can make a user namespace here, or None."""
    from derive.teach.grading.isolation import bwrap_binaries

    for path, _ in bwrap_binaries():
        try:
            ok = subprocess.run([path, "--unshare-all", "--ro-bind", "/", "/", "true"],
                                capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return path
    return None


def online(url="https://pypi.org/simple/uv/") -> bool:
    """PyPI reachable (the platform's setup downloads uv and derive's dependencies from it)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def _python_home(version: str | None = None) -> str:
    """The installation prefix of a CPython of that version (default: the running one's)."""
    if version is None or version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return sys.base_prefix
    for exe in [shutil.which(f"python{version}")] + glob.glob(f"/root/.pyenv/versions/{version}*/bin/python{version}"):
        if exe:
            out = subprocess.run([exe, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True)
            if out.returncode == 0:
                return out.stdout.strip()
    raise LookupError(f"no CPython {version} on this machine")


def _libdirs(home: str) -> list:
    """Directories an installation's binary needs at their own path (absolute RPATH builds)."""
    libdir = os.path.join(home, "lib")
    return [libdir] if glob.glob(os.path.join(libdir, "libpython3*.so*")) else []


def standalone_python(scratch: str, version: str | None = None) -> tuple:
    """(downloads JSON path, X.Y, [lib dirs to bind]): a local CPython packed as uv expects."""
    home = _python_home(version)
    ver = subprocess.run([os.path.join(home, "bin", "python3"), "-c",
                          "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    major, minor, patch = (int(v) for v in ver.split("."))
    out = os.path.join(scratch, "python-downloads")
    os.makedirs(out, exist_ok=True)
    tgz = os.path.join(out, f"cpython-{ver}-x86_64-unknown-linux-gnu-install_only.tar.gz")
    if not os.path.exists(tgz):
        skip = {"test", "idlelib", "tkinter", "turtledemo", "__pycache__", "site-packages", "ensurepip"}

        def keep(info):
            parts = info.name.split("/")
            if any(p in skip or p.startswith("config-") for p in parts[3:4] + parts[-1:]):
                return None
            return info
        with tarfile.open(tgz, "w:gz", compresslevel=1) as tar:
            for sub in ("bin", "lib", "include"):
                tar.add(os.path.join(home, sub), f"python/{sub}", filter=keep)
    with open(tgz, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    key = f"cpython-{ver}-linux-x86_64-gnu"
    downloads = {key: {"name": "cpython", "arch": {"family": "x86_64", "variant": None}, "os": "linux",
                       "libc": "gnu", "major": major, "minor": minor, "patch": patch, "prerelease": "",
                       "url": "file://" + tgz, "sha256": digest, "variant": None}}
    path = os.path.join(out, "downloads.json")
    with open(path, "w") as fh:
        json.dump(downloads, fh)
    return path, f"{major}.{minor}", _libdirs(home)


def _base(box: str, net: bool, binds=(), ro_binds=(), env=None) -> list:
    cmd = [box, "--unshare-all", "--die-with-parent", "--new-session"]
    if net:
        cmd.append("--share-net")
    cmd += ["--ro-bind", "/usr", "/usr", "--tmpfs", "/usr/local", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink("/" + link):
            cmd += ["--symlink", os.readlink("/" + link), "/" + link]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/root", "--tmpfs", "/var"]
    for src, dst in ro_binds:
        cmd += ["--ro-bind", src, dst]
    for src, dst in binds:
        cmd += ["--bind", src, dst]
    cmd += ["--clearenv", "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
    if os.path.exists(CA):  # this machine's HTTPS goes through a proxy with its own CA
        cmd += ["--setenv", "SSL_CERT_FILE", CA]
    for k, v in (env or {}).items():
        cmd += ["--setenv", k, v]
    return cmd


class Gradescope:
    """One autograder image: ``setup()`` once, then ``grade(files, metadata)`` per submission."""

    def __init__(self, scratch: str, bundle: str, box: str, system_python: str = "3.10",
                 python: str = "3.12"):
        self.scratch, self.box = scratch, box
        self.root = os.path.join(scratch, "autograder")
        os.makedirs(os.path.join(self.root, "source"), exist_ok=True)
        with zipfile.ZipFile(bundle) as zf:  # as Gradescope: unzipped into /autograder/source
            for info in zf.infolist():
                zf.extract(info, os.path.join(self.root, "source"))
                mode = info.external_attr >> 16
                if mode:
                    os.chmod(os.path.join(self.root, "source", info.filename), mode)
        try:  # the version setup.sh installs by default if there is one here, else the running one
            self.downloads, self.version, libs = standalone_python(scratch, python)
        except LookupError:
            self.downloads, self.version, libs = standalone_python(scratch)
        self.ro = [(d, d) for d in libs] + [(os.path.dirname(self.downloads), os.path.dirname(self.downloads))]
        sys_home = _python_home(system_python)
        self.ro += [(sys_home, sys_home)] + [(d, d) for d in _libdirs(sys_home) if d != os.path.join(sys_home, "lib")]
        self.python3 = os.path.join(sys_home, "bin", "python3")

    def _cmd(self, net, *args):
        cmd = _base(self.box, net, binds=[(self.root, "/autograder")], ro_binds=self.ro,
                    env={"UV_PYTHON_DOWNLOADS_JSON_URL": self.downloads})
        cmd += ["--dir", "/usr/local/bin", "--symlink", self.python3, "/usr/local/bin/python3"]
        return cmd + list(args)

    def setup(self, timeout=900) -> subprocess.CompletedProcess:
        """``bash setup.sh`` in /autograder/source, as root, with network; DERIVE_PYTHON_VERSION
        names the version packed by ``standalone_python``."""
        cmd = self._cmd(True, "--setenv", "DERIVE_PYTHON_VERSION", self.version,
                        "--chdir", "/autograder/source", "bash", "./setup.sh")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode == 0:  # Gradescope copies run_autograder to /autograder
            shutil.copy2(os.path.join(self.root, "source", "run_autograder"),
                         os.path.join(self.root, "run_autograder"))
        return r

    def grade(self, files: dict, metadata: dict | None = None, timeout=300, env=None) -> tuple:
        """(results.json as parsed, the run's stdout+stderr) for one submission."""
        for sub in ("submission", "results"):
            shutil.rmtree(os.path.join(self.root, sub), ignore_errors=True)
            os.makedirs(os.path.join(self.root, sub))
        for name, text in files.items():
            with open(os.path.join(self.root, "submission", name), "w") as fh:
                fh.write(text)
        meta = os.path.join(self.root, "submission_metadata.json")
        with open(meta, "w") as fh:
            json.dump(metadata or {}, fh)
        extra = [a for k, v in (env or {}).items() for a in ("--setenv", k, v)]
        cmd = self._cmd(True, *extra, "--chdir", "/autograder", "/autograder/run_autograder")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        with open(os.path.join(self.root, "results", "results.json")) as fh:
            return json.load(fh), r.stdout + r.stderr


def prairielearn_grade(box: str, course: str, files: dict, scratch: str, data=None, timeout=120) -> tuple:
    """Run the entrypoint in a fresh /grade (no network): (results.json, output)."""
    grade = os.path.join(scratch, "grade")
    shutil.rmtree(grade, ignore_errors=True)
    for sub in ("student", "data", "serverFilesCourse"):
        os.makedirs(os.path.join(grade, sub))
    shutil.copytree(os.path.join(course, "serverFilesCourse", "derive_grader"),
                    os.path.join(grade, "serverFilesCourse", "derive_grader"))
    for name, text in files.items():
        with open(os.path.join(grade, "student", name), "w") as fh:
            fh.write(text)
    with open(os.path.join(grade, "data", "data.json"), "w") as fh:
        json.dump(data or {}, fh)
    with open(os.path.join(course, "info.json")) as fh:
        opts = json.load(fh)["externalGradingOptions"]
    home = sys.base_prefix  # the running venv stands for grader-python's /venv
    ro = [(home, home), (sys.prefix, "/venv")]
    cmd = _base(box, False, binds=[(grade, "/grade")], ro_binds=ro,
                env={"PATH": "/venv/bin:/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": "/grade/serverFilesCourse/",
                     "PYTHONIOENCODING": "UTF-8"})
    entry = opts["entrypoint"]  # PrairieLearn: chmod +x ENTRYPOINT && ENTRYPOINT
    cmd += ["--chdir", "/grade", "bash", "-c", f"chmod +x {entry} && {entry}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    path = os.path.join(grade, "results", "results.json")
    with open(path) as fh:
        return json.load(fh), r.stdout + r.stderr, os.path.getsize(path)
