"""Tables, the issue's targets, machine facts and the generated part of RESULTS.md."""

import hashlib
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.inprocess import SqlProfile
from bench.load import LoadResult

BEGIN = "<!-- bench:results:begin (written by python -m bench.run) -->"
END = "<!-- bench:results:end -->"
CODE_PACKAGES = ("app", "schema", "resolvers", "loaders", "db")
COLUMNS = (
    "shape",
    "conc",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "stmts/req",
    "PG exec ms",
    "server CPU ms/req",
    "PG CPU ms/req",
    "others' CPU",
)


@dataclass
class ModeResult:
    """Everything measured with loader batching on or off."""

    batching: bool
    sql: dict[str, SqlProfile] = field(default_factory=dict)
    load: dict[str, list[LoadResult]] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """Return a heading naming the mode."""
        value = "true (default)" if self.batching else "false"
        return f"EXPENSEGRAPH_LOADER_BATCHING={value}"


def table(mode: ModeResult) -> str:
    """Return the mode's results as a Markdown table, one row per shape and concurrency."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for shape, runs in mode.load.items():
        sql = mode.sql.get("list-50" if shape == "list" else shape)
        for run in runs:
            cells = [shape, str(run.concurrency), *_measured(run)]
            cells[6:6] = [str(sql.statements), f"{sql.execution_ms:.2f}"] if sql else ["?", "?"]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _measured(run: LoadResult) -> list[str]:
    """Return the load cells of a run: req/s, p50, p99, errors, CPU per request, others' CPU."""
    others = f"{run.others_cpu_share:.0%}"
    errors = str(run.errors) + (f" (+{run.socket_errors} socket)" if run.socket_errors else "")
    if run.requests == 0:  # nothing completed within the run: no latency, no per-request cost
        return ["0", "-", "-", errors, "-", "-", others]
    return [
        f"{run.requests_per_s:,.1f}",
        f"{run.p50_ms:.1f}",
        f"{run.p99_ms:.1f}",
        errors,
        f"{run.server_cpu_ms_per_request:.2f}",
        f"{run.postgres_cpu_ms_per_request:.2f}",
        others,
    ]


def page_size_line(mode: ModeResult) -> str:
    """Return the statements of shape (a) at page size 5 and 50."""
    small, large = mode.sql.get("list-5"), mode.sql.get("list-50")
    if small is None or large is None:
        return "Statements per list page: not measured."
    verdict = "same" if small.statements == large.statements else "NOT the same"
    return (
        f"Statements per list page: {small.statements} at first: 5, {large.statements} at "
        f"first: 50 ({verdict})."
    )


def sql_details(mode: ModeResult) -> str:
    """Return each shape's slowest statement and its planning time, and any request errors."""
    lines = []
    for label, sql in mode.sql.items():
        lines.append(
            f"- `{label}`: {sql.statements} statements, exec {sql.execution_ms:.2f} ms, "
            f"planning {sql.planning_ms:.2f} ms; slowest {sql.slowest_ms:.2f} ms: "
            f"`{sql.slowest_sql[:110]}`"
        )
        if sql.error:
            lines.append(f"  - ERROR: `{sql.error[:300]}`")
    for shape, runs in mode.load.items():
        for run in runs:
            if run.first_error:
                lines.append(
                    f"- `{shape}` c={run.concurrency} first error: `{run.first_error[:300]}`"
                )
    return "\n".join(lines)


# the fast-lane issue's server CPU targets (ms a request): peerbench's shapes, the sync
# page and the fixed cost of a request. Its numbers were set under load (wrk with 8 and
# 16 connections): they are judged at every concurrency of 8 or more; at 1 each request
# also pays the event loop's wake-up, shown beside them
CPU_TARGETS = (
    ("q1", "list page (peerbench q1, 50 rows)", 1.2),
    ("q2", "teams overview (peerbench q2, 20 teams x 5 expenses)", 1.0),
    ("q3", "detail (peerbench q3)", 0.5),
    ("floor", "`{ __typename }`", 0.15),
    ("sync", "sync page (100 rows)", 1.5),
)
LOADED = 8


def targets(mode: ModeResult) -> list[str]:
    """Return the issue's targets, each with the measured value and MET or NOT MET."""

    def cpu(shape: str, what: str, limit: float) -> str:
        runs = [run for run in mode.load.get(shape, []) if run.requests]
        loaded = [run for run in runs if run.concurrency >= LOADED]
        if not loaded:
            return f"{what} server CPU ≤ {limit} ms/request: not measured under load"
        verdict = "MET" if all(r.server_cpu_ms_per_request <= limit for r in loaded) else "NOT MET"
        shown = ", ".join(f"c={r.concurrency} {r.server_cpu_ms_per_request:.3f}" for r in runs)
        return f"{what} server CPU ≤ {limit} ms/request at c ≥ {LOADED}: {shown} → {verdict}"

    lines = [cpu(*target) for target in CPU_TARGETS]
    single = next((r for r in mode.load.get("summary", []) if r.concurrency == 1), None)
    if single is None:
        lines.append("spendSummary p50 < 50 ms at concurrency 1: not measured")
    else:
        verdict = "MET" if single.p50_ms < 50 else "NOT MET"
        lines.append(
            f"spendSummary (biggest tenant, one year) p50 < 50 ms at concurrency 1: "
            f"{single.p50_ms:.1f} ms → {verdict}"
        )
    runs = [run for shape_runs in mode.load.values() for run in shape_runs]
    errors, sockets = sum(r.errors for r in runs), sum(r.socket_errors for r in runs)
    failed = sorted({f"{r.concurrency}" for r in runs if r.errors or r.socket_errors}, key=int)
    verdict = "MET" if errors + sockets == 0 else f"NOT MET (at concurrency {', '.join(failed)})"
    lines.append(
        f"no errors under load: {errors} failed answers, {sockets} socket errors → {verdict}"
    )
    return lines


def machine(postgres_version: str, load_at_start: tuple[float, float, float]) -> str:
    """Return one line describing this machine, with its load average when the run began."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")),
        0,
    )
    load = ", ".join(f"{value:.2f}" for value in load_at_start)
    return (
        f"{os.cpu_count()} cores ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"PostgreSQL {postgres_version} (embedded), Python {platform.python_version()}, "
        f"load average at start {load}"
    )


def code_version(repo: Path) -> str:
    """Return the commit, and a fingerprint of the code that runs (the five packages)."""
    digest = hashlib.sha256()
    for path in sorted(p for name in CODE_PACKAGES for p in (repo / name).rglob("*.py")):
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = "unknown"
    return f"code fingerprint {digest.hexdigest()[:12]} (commit {head} and the working tree)"


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def write_results(path: Path, generated: str) -> None:
    """Replace the generated block of ``path`` (between the markers), keeping the rest."""
    block = f"{BEGIN}\n{generated.strip()}\n{END}"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def switch_line(on: ModeResult, off: ModeResult) -> str:
    """Return whether turning loader batching off changed the statement counts."""
    for label in ("list-50", "teams"):
        before, after = on.sql.get(label), off.sql.get(label)
        if before and after and not before.error and not after.error:
            break
    else:
        return "Loader switch: not compared (the requests failed)."
    if before.statements == after.statements:
        return (
            f"Loader switch: NO EFFECT: `{label}` ran {before.statements} statements with "
            "batching on and off (EXPENSEGRAPH_LOADER_BATCHING is not honoured yet)."
        )
    return (
        f"Loader switch: `{label}` ran {before.statements} statements with batching, "
        f"{after.statements} without."
    )


def compose(header: list[str], modes: list[ModeResult]) -> str:
    """Return the Markdown of one run: header lines, targets, one section per mode."""
    parts = ["## Latest run", "", *[f"- {line}" for line in header], ""]
    if modes and modes[0].batching:
        parts += ["### Targets of the issue (loader batching on)", ""]
        parts += [f"- {line}" for line in targets(modes[0])] + [""]
    for mode in modes:
        parts += [f"### {mode.title}", "", page_size_line(mode), "", table(mode), ""]
        parts += ["SQL per request (one request in-process, EXPLAIN ANALYZE, median of 3):", ""]
        parts += [sql_details(mode), ""]
    if len(modes) == 2:
        parts += [switch_line(modes[0], modes[1]), ""]
    return "\n".join(parts)
