"""The common layer built as `sam build` builds it (layers/common/Makefile), but with this machine's
wheels (`LAYER_PLATFORMS=`) instead of arm64 ones, so that it can be imported here: for the tests that
import the functions from the layer alone, and for the records benchmark's cold start."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.dynamodb import PROJECT_ROOT

LAYER_SOURCE = PROJECT_ROOT / "layers" / "common"


def build_layer_for_this_machine(artifacts: Path) -> Path:
    """Runs the layer's build into ``artifacts``; returns the layer's python/ folder (Lambda's
    /opt/python). Raises RuntimeError with make's output when the build fails."""
    result = subprocess.run(
        [
            shutil.which("make") or "make",
            "--no-print-directory",
            "-C",
            str(LAYER_SOURCE),
            "build-CommonLayer",
            f"ARTIFACTS_DIR={artifacts}",
            f"PYTHON={sys.executable}",
            "LAYER_PLATFORMS=",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the layer build failed:\n{result.stdout}{result.stderr}")
    return artifacts / "python"


def layer_aws_services() -> set[str]:
    """The services whose botocore data the layer keeps (the Makefile's AWS_SERVICES)."""
    makefile = (LAYER_SOURCE / "Makefile").read_text()
    (services,) = (
        line.partition(":=")[2].split()
        for line in makefile.splitlines()
        if line.startswith("AWS_SERVICES :=")
    )
    return set(services)
