"""Load generation with wrk: requests/s, latency percentiles, errors and CPU per request."""

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import CpuMeter, CpuSample

LUA_SCRIPT = Path(__file__).with_name("wrk_graphql.lua")
WRK_THREADS = 2
# a wrk run may take this much longer than its duration before it is killed
WRK_GRACE_S = 60


@dataclass(frozen=True)
class LoadResult:
    """One wrk run of one shape at one concurrency."""

    concurrency: int
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    graphql_errors: int
    status_errors: int
    socket_errors: int
    server_cpu_ms_per_request: float
    postgres_cpu_ms_per_request: float
    others_cpu_share: float
    first_error: str = ""

    @property
    def requests_per_s(self) -> float:
        """Return completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        """Return the failed answers: 2xx with GraphQL errors, and non-2xx.

        Socket errors are kept apart: a server that answers 500 and closes the connection
        costs wrk one non-2xx answer and one read error for the same request.
        """
        return self.graphql_errors + self.status_errors


def ensure_wrk() -> str:
    """Return the wrk executable; install the Debian package if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, timeout=300, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], timeout=300, check=True)
        subprocess.run(install, timeout=300, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


def warm_up(url: str, body: bytes, token: str, times: int = 3) -> str:
    """Send the request ``times`` times; return the first error answer ("" if none)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    for _ in range(times):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = response.read().decode()
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}: {error.read().decode()[:400]}"
        if '"errors"' in answer:
            return answer[:400]
    return ""


def run_wrk(
    wrk: str,
    url: str,
    body_file: Path,
    token: str,
    *,
    concurrency: int,
    duration_s: int,
    meter: CpuMeter,
    log_path: Path,
) -> LoadResult:
    """Run wrk against ``url``; measure the CPU time of everyone involved around it."""
    threads = min(WRK_THREADS, concurrency)
    command = [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{duration_s}s", "--timeout", "10s"]
    command += ["--latency", "-s", str(LUA_SCRIPT), url, "--", str(body_file), token]
    before = meter.sample()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + WRK_GRACE_S, check=True
    )
    used = meter.sample() - before
    with log_path.open("a") as log:
        log.write(f"$ wrk -t{threads} -c{concurrency} -d{duration_s}s ... {url}\n{done.stdout}\n")
    return _parse(done.stdout, concurrency, used)


def _parse(output: str, concurrency: int, used: CpuSample) -> LoadResult:
    """Return the LoadResult of wrk's output and the CPU time used during the run."""
    lines = output.splitlines()
    result = next((line for line in lines if line.startswith("BENCH_RESULT ")), None)
    if result is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    raw = json.loads(result.removeprefix("BENCH_RESULT "))
    first_error = next((line[18:] for line in lines if line.startswith("BENCH_FIRST_ERROR ")), "")
    requests = max(raw["requests"], 1)
    return LoadResult(
        concurrency=concurrency,
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        graphql_errors=raw["graphql_errors"],
        status_errors=raw["status_errors"],
        socket_errors=raw["socket_errors"],
        server_cpu_ms_per_request=used.server * 1000 / requests,
        postgres_cpu_ms_per_request=used.postgres * 1000 / requests,
        others_cpu_share=used.others_share,
        first_error=first_error,
    )
