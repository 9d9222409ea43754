from collections import Counter

from extraction import ExtractionError, extract
from extraction.samples import FIELDS, corpus, hits

TYPES = {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}
FLOORS = {"total": 0.95, "date": 0.90, "merchant": 0.85}


def test_forty_seeded_receipts_are_read(tesseract: None) -> None:
    right: Counter[str] = Counter()
    misses: list[tuple[str, object, object]] = []
    items = corpus(40, seed=12, image_share=0.5)
    assert {kind for _, kind, _ in items} == {"png", "jpeg", "pdf"}
    for truth, kind, data in items:
        try:
            found = hits(truth, extract(data, TYPES[kind]))
        except ExtractionError as exc:
            found = dict.fromkeys(FIELDS, False)
            misses.append((kind, truth, exc.reason))
        right.update(field for field, ok in found.items() if ok)
        if not all(found.values()):
            misses.append((kind, truth, [field for field, ok in found.items() if not ok]))
    accuracy = {field: right[field] / len(items) for field in FIELDS}
    failing = {field: accuracy[field] for field, floor in FLOORS.items() if accuracy[field] < floor}
    assert not failing, (accuracy, misses)
