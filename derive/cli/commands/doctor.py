"""`derive doctor`: which isolation layers for grading work on this machine, and why others don't."""
from __future__ import annotations

import platform
import sys
from derive.core.errors import DeriveError
from derive.teach.grading.isolation import plan
from derive.teach.grading.isolation import status

NAME = "doctor"
HELP = "show which isolation layers `derive grade` can use here (bubblewrap, Landlock, seccomp)"


def add_arguments(p):
    pass


def run(args) -> int:

    print(f"machine: {platform.system()} {platform.release()} {platform.machine()}, "
          f"Python {platform.python_version()}")
    if sys.platform != "linux":
        st = {k: (False, "Linux-only") for k in ("bwrap", "landlock", "seccomp")}
    else:
        st = status()
    for layer, label in (("bwrap", "bubblewrap"), ("landlock", "Landlock"), ("seccomp", "seccomp")):
        works, detail = st[layer]
        print(f"{label + ':':12s}{'works' if works else 'unavailable'}  ({detail})")
    print(f"{'rlimits:':12s}works  (CPU time, address space, file size, processes)")
    try:
        chosen = plan("auto")
    except DeriveError as err:
        print(f"derive grade --isolation auto: refuses ({err})")
        return 1
    print(f"derive grade --isolation auto uses {chosen.description}")
    return 0
