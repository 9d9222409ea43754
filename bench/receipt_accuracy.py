"""Receipt extraction accuracy and speed on synthetic receipts with known truth.

    python -m bench.receipt_accuracy --n 200 --seed 1

Renders `--n` receipts (`--image-share` of them PNG/JPEG photos, turned, blurred and
noisy; the rest PDFs with a text layer), extracts each with `extraction.extract` and prints
per-field accuracy by kind, and receipts per minute (rendering excluded).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from extraction import ExtractionError, extract
from extraction.parse import find_merchant
from extraction.samples import FIELDS, SampleTruth, corpus, hits, known_merchants

_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}


def _one(item: tuple[SampleTruth, str, bytes]) -> tuple[str, dict[str, bool], float]:
    truth, kind, data = item
    started = time.perf_counter()
    try:
        extraction = extract(data, _TYPES[kind])
        found = hits(truth, extraction)
        # the same text matched against the business's known merchants
        merchant = find_merchant(extraction.text, known_merchants=known_merchants())
        found["merchant (known list)"] = merchant is not None and merchant.value == truth.merchant
    except ExtractionError:
        found = dict.fromkeys([*FIELDS, "merchant (known list)"], False)
    return kind, found, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--image-share", type=float, default=0.5)
    parser.add_argument("--jobs", type=int, default=1, help="processes extracting at once")
    args = parser.parse_args()
    # one tesseract thread per process: --jobs decides the parallelism, not OpenMP
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    items = corpus(args.n, args.seed, image_share=args.image_share)
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(_one, items))
    elapsed = time.perf_counter() - started
    columns = [*FIELDS, "merchant (known list)"]
    print(f"{'kind':<8}{'n':>5}" + "".join(f"{c:>24}" for c in columns) + f"{'s/receipt':>12}")
    for kind in ["png", "jpeg", "pdf", "all"]:
        rows = [r for r in results if kind in (r[0], "all")]
        if not rows:
            continue
        right: Counter[str] = Counter()
        for _, found, _ in rows:
            right.update(field for field, ok in found.items() if ok)
        cells = "".join(f"{right[c] / len(rows):>23.1%} " for c in columns)
        seconds = sum(r[2] for r in rows) / len(rows)
        print(f"{kind:<8}{len(rows):>5}{cells}{seconds:>12.2f}")
    per_minute = len(results) / elapsed * 60
    print(
        f"\n{len(results)} receipts in {elapsed:.1f} s with --jobs {args.jobs}: {per_minute:.0f} per minute"
    )


if __name__ == "__main__":
    main()
