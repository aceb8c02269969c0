"""A seccomp filter through ctypes: no new processes, no exec, no sockets, no signals out, no ptrace.

Threads stay possible (``clone`` with CLONE_THREAD); every other way to start a process or
program, to open a socket of any family, to signal or read another process (kill and its
relatives aimed at any pid but this process's own, pidfds, process_vm_*), or to reach around
these rules (io_uring, ptrace, other system-call ABIs) fails with EPERM. Like Landlock it holds
for the process and all it starts and cannot be lifted. Standard library only: the grading
child gets it as code, without derive.
"""
import ctypes
import errno
import os
import struct
import sys

_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _MODE_FILTER = 38, 22, 2
_LD_W_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
_ENOSYS = _ERRNO | errno.ENOSYS  # for clone3: glibc then falls back to clone, which is filtered
_CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000
# arch -> (AUDIT_ARCH value, clone, {denied system calls}, {calls allowed only at our own pid})
_ARCHES = {
    "x86_64": (0xC000003E, 56,
               {"fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "clone3": 435, "socket": 41,
                "ptrace": 101, "io_uring_setup": 425, "pidfd_open": 434, "pidfd_send_signal": 424,
                "process_vm_readv": 310, "process_vm_writev": 311},
               {"kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297}),
    "aarch64": (0xC00000B7, 220,
                {"execve": 221, "execveat": 281, "clone3": 435, "socket": 198, "ptrace": 117,
                 "io_uring_setup": 425, "pidfd_open": 434, "pidfd_send_signal": 424,
                 "process_vm_readv": 270, "process_vm_writev": 271},
                {"kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240}),
}


class _Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported() -> str:
    """"" when a filter can be built for this machine, else why not."""
    if sys.platform != "linux":
        return "seccomp is Linux-only"
    if os.uname().machine not in _ARCHES:
        return f"no filter written for {os.uname().machine}"
    return ""


def program(pid: int) -> bytes:
    """The BPF program (struct sock_filter[]) for this machine's architecture and process ``pid``."""
    arch, clone, denied, own = _ARCHES[os.uname().machine]
    deny = _ERRNO | errno.EPERM
    ins = [(_LD_W_ABS, 0, 0, 4),               # seccomp_data.arch
           (_JEQ, 1, 0, arch), (_RET, 0, 0, _KILL),
           (_LD_W_ABS, 0, 0, 0)]               # seccomp_data.nr
    if arch == 0xC000003E:                     # x32 system calls on x86_64
        ins += [(0x35, 0, 1, _X32_BIT), (_RET, 0, 0, deny)]  # JGE
    for nr in denied.values():
        ins += [(_JEQ, 0, 1, nr), (_RET, 0, 0, _ENOSYS if nr == 435 else deny)]
    own = list(own.values())
    for i, nr in enumerate(own):               # to the pid check below
        ins.append((_JEQ, len(own) - i + 4, 0, nr))
    ins += [(_JEQ, 0, 3, clone),
            (_LD_W_ABS, 0, 0, 16),             # args[0] low word: clone flags
            (_JSET, 1, 0, _CLONE_THREAD), (_RET, 0, 0, deny),
            (_RET, 0, 0, _ALLOW),
            (_LD_W_ABS, 0, 0, 16),             # args[0] low word: the pid (tgid) signalled
            (_JEQ, 1, 0, pid), (_JEQ, 0, 1, 0),
            (_RET, 0, 0, _ALLOW),
            (_RET, 0, 0, deny)]
    return b"".join(struct.pack("HBBI", *i) for i in ins)


def install():
    """Install the filter on this process (and all it starts); raise OSError on failure."""
    why = supported()
    if why:
        raise OSError(errno.ENOSYS, why)
    code = program(os.getpid())
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _Prog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(_PR_SET_SECCOMP, _MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
