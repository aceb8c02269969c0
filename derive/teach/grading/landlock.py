"""Landlock through ctypes: restrict this process to reading some trees and writing one.

Three system calls (Linux 5.13+), no dependency. After ``restrict(rules(read, write, exclude))``
this process and every process or thread it starts can open for reading only files under
``read`` (minus ``exclude``), write only under ``write``, never execute a file, connect or bind no TCP port
(ABI 4+), and signal or reach the abstract UNIX sockets of no process outside its own
domain (ABI 6+). Nothing in the process can undo it. This file imports only the standard
library: the grading child loads it by path, without derive.
"""
import ctypes
import os

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same number on every architecture
_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
# every filesystem right each ABI knows (v1: bits 0-12, v2 REFER, v3 TRUNCATE, v5 IOCTL_DEV)
_FS_BITS = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # rights a file rule may hold


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi() -> int:
    """The Landlock ABI version this kernel offers; 0 when there is none (or not Linux)."""
    try:
        version = _libc().syscall(CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def why_not() -> str:
    """Why Landlock is unavailable, in a few words ("" when it is available)."""
    if abi() > 0:
        return ""
    err = ctypes.get_errno()
    if err == 38:  # ENOSYS
        return "this kernel has no Landlock (Linux 5.13+ with CONFIG_SECURITY_LANDLOCK)"
    if err == 95:  # EOPNOTSUPP
        return "Landlock is built in but not enabled (add landlock to the lsm= boot parameter)"
    if err == 1:  # EPERM: usually a container's seccomp profile
        return "the landlock system calls are blocked here (a container's seccomp profile?)"
    return f"landlock_create_ruleset failed ({os.strerror(err) if err else 'not Linux'})"


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _grant(rules, root, access, exclude):
    """Rules granting ``access`` under ``root`` except under the ``exclude`` trees."""
    inside = [x for x in exclude if _under(x, root)]
    if not os.path.lexists(root):
        return
    if not inside:
        rules.append((root, access if os.path.isdir(root) else access & _FILE_RIGHTS))
        return
    if root in inside or not os.path.isdir(root) or os.path.islink(root):
        return
    rules.append((root, access & READ_DIR))  # listing names (imports need it), not reading files
    for entry in sorted(os.listdir(root)):
        _grant(rules, os.path.join(root, entry), access, inside)


def rules(read=(), write=(), exclude=()) -> list:
    """[(path, access)] for ``restrict``: read ``read`` minus ``exclude``, write ``write``.

    Worked out once by the grader (it lists the directories around the excluded trees), so
    that each child only opens the paths and adds the rules.
    """
    out = []
    exclude = [os.path.realpath(x) for x in exclude]
    for path in read:
        _grant(out, os.path.realpath(path), READ_FILE | READ_DIR, exclude)
    for path in write:
        _grant(out, os.path.realpath(path), ((1 << 16) - 1) & ~EXECUTE, ())
    return out


def restrict(allowed) -> int:
    """Enter a Landlock domain allowing only ``allowed`` (from ``rules``); raise OSError if the
    kernel refuses (nothing is half-applied: the domain starts only after every rule is in)."""
    version = abi()
    if version < 1:
        raise OSError(38, f"Landlock unavailable: {why_not()}")
    libc = _libc()
    fs = (1 << _FS_BITS.get(version, 16)) - 1
    attr = _Ruleset(fs, 3 if version >= 4 else 0, 3 if version >= 6 else 0)  # no TCP; scoped signals
    size = ctypes.sizeof(_Ruleset) if version >= 6 else (16 if version >= 4 else 8)
    ruleset = libc.syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        for path, access in allowed:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path that does not exist here grants nothing
            try:
                rule = _PathBeneath(access & fs, fd)
                if libc.syscall(ADD_RULE, ruleset, _PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return version
