"""CPU time of a process tree, read from /proc (Linux only)."""

import os
import resource
from dataclasses import astuple, dataclass
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name, or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name may hold spaces and parentheses: split after the last ')'
    return raw[raw.rfind(")") + 2 :].split()


def _children_by_parent() -> dict[int, list[int]]:
    """Return the live processes' ids grouped by parent id."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_cpu_s(root: int) -> float:
    """Return user+system CPU seconds of ``root`` and its live descendants.

    Each process also counts its reaped children (cutime, cstime), so a worker or a
    database backend that exited during a measurement is not lost.
    """
    children = _children_by_parent()
    total_ticks, stack = 0, [root]
    while stack:
        pid = stack.pop()
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # fields[11:15] are utime, stime, cutime, cstime (stat fields 14-17)
        total_ticks += sum(int(value) for value in fields[11:15])
        stack.extend(children.get(pid, ()))
    return total_ticks / TICKS_PER_S


def postmaster_pid(pgdata: Path) -> int | None:
    """Return the PostgreSQL postmaster's pid from ``pgdata/postmaster.pid``, if running."""
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def machine_cpu_s() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of all cores since boot, from /proc/stat.

    Busy is user + nice + system: interrupt time (loopback networking) is charged to no
    process, and steal is the hypervisor's, so neither would be "other processes".
    """
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return sum(fields[:3]) / TICKS_PER_S, sum(fields[:8]) / TICKS_PER_S


def children_cpu_s() -> float:
    """Return the CPU seconds of this process's reaped children (wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by each party of a measurement."""

    server: float
    postgres: float
    load_generator: float
    machine_busy: float
    machine_total: float

    def __sub__(self, other: "CpuSample") -> "CpuSample":
        return CpuSample(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def others_share(self) -> float:
        """Return the share of the machine used by processes outside the benchmark (0..1)."""
        ours = self.server + self.postgres + self.load_generator
        return (
            max(self.machine_busy - ours, 0.0) / self.machine_total if self.machine_total else 0.0
        )


class CpuMeter:
    """Samples the CPU time of the server tree, PostgreSQL's tree, wrk and the machine."""

    def __init__(self, server_pid: int, postmaster: int | None) -> None:
        self.server_pid, self.postmaster = server_pid, postmaster

    def sample(self) -> CpuSample:
        """Return the CPU seconds used so far."""
        busy, total = machine_cpu_s()
        return CpuSample(
            server=tree_cpu_s(self.server_pid),
            postgres=tree_cpu_s(self.postmaster) if self.postmaster else 0.0,
            load_generator=children_cpu_s(),
            machine_busy=busy,
            machine_total=total,
        )
