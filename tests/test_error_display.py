"""In a notebook a DeriveError shows as its one line: IPython renders ``_render_traceback_``."""
import subprocess
import sys

import pytest

import derive


def test_render_traceback_is_the_one_line():
    with pytest.raises(derive.DeriveError) as info:
        derive.stage("exp(")
    lines = info.value._render_traceback_()
    assert len(lines) == 1 and lines[0].startswith("DeriveError: ") and "\n" not in lines[0]


def test_ipython_shows_one_line_not_a_traceback():
    pytest.importorskip("IPython")
    code = ("from IPython.testing.globalipapp import start_ipython\n"
            "ip = start_ipython()\n"
            "ip.run_cell('import derive')\n"
            "ip.run_cell('derive.stage(\"exp(\")')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    shown = r.stdout + r.stderr
    assert "DeriveError: " in shown, shown
    assert "Traceback" not in shown and "File \"" not in shown, shown
