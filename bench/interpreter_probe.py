"""How fast an interpreter runs plain Python, to compare builds of the same version:
``python -m bench.interpreter_probe /usr/bin/python3.11 ~/.pyenv/versions/3.11.7/bin/python3.11``.

Each interpreter runs the same loop of dict, str and method calls (the kind of work a
request does between its C calls) five times in a child process; the best CPU time is
printed. A build without PGO and LTO (pyenv's default) needs a fifth to a quarter more
time than one with them (distributions'): bench/RESULTS.md, "The interpreter's build".
"""

import subprocess
import sys

LOOP = """
import sys
import time

class Box:
    def __init__(self, x):
        self.x = x

    def plus(self, y):
        return self.x + y

def strings_and_dicts(n):
    seen, total = {}, 0
    for i in range(n):
        seen[i % 100] = i
        total += len(str(i)) + seen.get(i % 7, 0)
    return total

def calls(n):
    box, total = Box(1), 0
    for _ in range(n):
        total = box.plus(total) % 1000003
    return total

best = float("inf")
for _ in range(5):
    start = time.process_time()
    strings_and_dicts(1_000_000)
    calls(1_000_000)
    best = min(best, time.process_time() - start)
print(f"{sys.version.split()[0]}: {best:.3f} s")
"""


def main() -> None:
    """Print the best of five CPU times of the loop for each interpreter named (or this one)."""
    for python in sys.argv[1:] or [sys.executable]:
        done = subprocess.run([python, "-c", LOOP], capture_output=True, text=True, check=True)
        print(f"{python} {done.stdout.strip()}")


if __name__ == "__main__":
    main()
