import os
import shutil

import pytest


@pytest.fixture
def tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip without Tesseract, except under CI where its absence is a broken install."""
    if not shutil.which("tesseract"):
        if os.environ.get("CI"):
            pytest.fail("tesseract is missing under CI: .ci/run installs tesseract-ocr")
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")
    # one OCR thread: the test machines have two cores shared by everything else
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
