"""Write seccomp.json, the syscall filter of every sandbox container.

An allowlist: every x86-64 syscall the kernel headers name (asm/unistd_64.h of
linux-libc-dev), minus those no judged program needs and that widen the kernel's attack
surface or let one submission leave state for the next. Unknown (newer) syscalls fail with
ENOSYS, so libc falls back to older ones; denied ones fail with EPERM. `clone` is allowed only
without namespace flags and `clone3` answers ENOSYS (its flags sit in memory a filter cannot
read), so no program makes a user namespace. Run `python sandbox/image/make_seccomp.py` after
editing DENIED; the result is committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
OUTPUT = Path(__file__).with_name("seccomp.json")
EPERM, ENOSYS = 1, 38
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NAMESPACES |= 0x20000000 | 0x40000000
PERSONALITIES = (0x0, 0x8, 0xFFFFFFFF)  # PER_LINUX, PER_LINUX32, query

DENIED = {
    "io_uring": ["io_uring_setup", "io_uring_enter", "io_uring_register"],
    # IPC objects outlive a process; mqueues are charged to the uid across containers.
    "ipc": ["shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
            "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink",
            "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr"],
    "namespaces and mounts": ["unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
                              "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
                              "fspick", "mount_setattr"],
    "other processes": ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
                        "pidfd_getfd", "process_madvise", "process_mrelease"],
    "kernel": ["kexec_load", "kexec_file_load", "init_module", "finit_module",
               "delete_module", "create_module", "get_kernel_syms", "query_module", "reboot",
               "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd",
               "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "lookup_dcookie", "iopl",
               "ioperm", "vhangup", "modify_ldt", "sethostname", "setdomainname"],
    "clocks": ["settimeofday", "clock_settime", "clock_adjtime", "adjtimex"],
    "introspection": ["perf_event_open", "bpf", "userfaultfd", "fanotify_init",
                      "name_to_handle_at", "open_by_handle_at"],
    "keys": ["add_key", "request_key", "keyctl"],
    "memory policy": ["mbind", "set_mempolicy", "migrate_pages", "move_pages",
                      "set_mempolicy_home_node", "memfd_secret"],
    "landlock": ["landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"],
    "unimplemented": ["afs_syscall", "getpmsg", "putpmsg", "security", "tuxcall", "vserver",
                      "epoll_ctl_old", "epoll_wait_old"],
}  # fmt: skip
SPECIAL = {"clone", "clone3", "personality"}


def header_syscalls() -> list[str]:
    return sorted(set(re.findall(r"#define __NR_(\w+)\s+\d+", HEADER.read_text())))


def profile() -> dict[str, object]:
    denied = {name for names in DENIED.values() for name in names}
    allowed = [name for name in header_syscalls() if name not in denied | SPECIAL]
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": ENOSYS,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}],
        "syscalls": [
            {"names": allowed, "action": "SCMP_ACT_ALLOW"},
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [
                    {"index": 0, "value": CLONE_NAMESPACES, "valueTwo": 0,
                     "op": "SCMP_CMP_MASKED_EQ"}
                ],
            },
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
            *(
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]}
                for value in PERSONALITIES
            ),
            {"names": sorted(denied), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM},
        ],
    }  # fmt: skip


if __name__ == "__main__":
    OUTPUT.write_text(json.dumps(profile(), indent=1) + "\n")
    print(f"wrote {OUTPUT}")
