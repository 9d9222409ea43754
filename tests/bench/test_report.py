"""bench/report.py judges the fast-lane issue's CPU targets under load only."""

from bench.load import LoadResult
from bench.report import ModeResult, targets


def _run(concurrency: int, cpu_ms: float, errors: int = 0) -> LoadResult:
    return LoadResult(
        concurrency=concurrency,
        requests=1000,
        duration_s=10.0,
        p50_ms=1.0,
        p90_ms=2.0,
        p99_ms=3.0,
        max_ms=4.0,
        graphql_errors=errors,
        status_errors=0,
        socket_errors=0,
        server_cpu_ms_per_request=cpu_ms,
        postgres_cpu_ms_per_request=0.1,
        others_cpu_share=0.0,
    )


def _line(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.startswith(start))


def test_a_target_is_met_only_when_every_loaded_run_meets_it() -> None:
    # at concurrency 1 the wake-up of the event loop is paid per request: shown, not judged
    met = targets(ModeResult(True, load={"q3": [_run(1, 0.9), _run(8, 0.45), _run(32, 0.5)]}))
    assert _line(met, "detail").endswith("c=1 0.900, c=8 0.450, c=32 0.500 → MET")
    missed = targets(ModeResult(True, load={"q3": [_run(8, 0.45), _run(32, 0.501)]}))
    assert _line(missed, "detail").endswith("→ NOT MET")
    assert _line(missed, "list page").endswith("not measured under load")


def test_errors_under_load_fail_their_target() -> None:
    lines = targets(ModeResult(True, load={"sync": [_run(8, 1.0), _run(32, 1.0, errors=2)]}))
    assert _line(lines, "sync page").endswith("→ MET")
    assert _line(lines, "no errors").endswith("NOT MET (at concurrency 32)")
