"""The service runs without the synthetic data: serving and the worker never load ``devdata``.

The import linter forbids ``devdata`` everywhere but in the ``seed`` and ``demo`` commands
(imported inside them); this checks that at run time too, with every module the serving
process and the worker import.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = """
import sys
import app.cli, app.commands.run, app.http, app.worker, app.jobs, app.webhooks
from app.http import create_app
from app.settings import Settings
create_app(Settings.from_env({"EXPENSEGRAPH_JWT_SECRET": "s" * 32}), "postgresql://u@127.0.0.1:9/x")
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "devdata")
print(",".join(loaded))
"""


def test_serving_and_the_worker_do_not_import_devdata() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert probe.stdout.strip() == ""
