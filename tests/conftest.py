"""Shared test helpers: run the CLI as a subprocess."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, timeout=60, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or ROOT, env=env)


@pytest.fixture
def cli():
    return run_cli


def assert_one_line_error(proc, *fragments):
    """Exit 2, exactly one line on stderr, no traceback, mentioning each fragment."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert lines[0].startswith("derive: error: ")
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


# Tests draw their sheets afresh (some patch the drawing code at run time, which the disk
# cache's key cannot see); tests/test_sheet_cache.py turns the cache on in a folder of its own.
os.environ["DERIVE_CACHE"] = "0"
# Nor do they start sheet servers (derive.cli.server) that would outlive the run;
# tests/test_sheet_server.py starts its own, in a folder of its own, and stops them.
os.environ["DERIVE_SERVER"] = "0"
