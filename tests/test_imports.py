from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "sklearn", "scipy", "mlflow", "optuna", "pyarrow", "matplotlib")


def test_importing_the_package_is_light() -> None:
    code = (
        "import sys, sleeptime, sleeptime.workloads, sleeptime.estimators, sleeptime.simulators;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
