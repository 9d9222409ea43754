"""The README and docs stand on their own: a clone has nothing outside the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# a backticked repository path such as `app/http.py` or `docs/design.md`
_PATH = re.compile(
    r"`((?:app|execution|schema|resolvers|loaders|db|devdata|extraction|docs|tests|bench|scripts|alembic)/[\w./-]+\.(?:py|md|toml|sh|json))`"
)


def test_docs_point_at_nothing_outside_the_repository() -> None:
    for doc in DOCS:
        assert "../" not in doc.read_text(), f"{doc.name} points outside the repository"


def test_files_the_docs_name_exist() -> None:
    missing = [
        f"{doc.name}: {path}"
        for doc in DOCS
        for path in _PATH.findall(doc.read_text())
        if not (ROOT / path).exists()
    ]
    assert not missing, missing
