"""layers/common/Makefile: the layer it builds is all the functions need, and its bytecode is what runs.

The layer is built here as `sam build` builds it, with this machine's wheels instead of arm64 ones
(`LAYER_PLATFORMS=`) so that it can be imported, then imported the way Lambda does: a fresh interpreter
without this machine's site-packages (`python -S`), only the function's folder and the layer on the
path. tests/test_template.py checks the arm64 build itself.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.dynamodb import load_template
from tests.support.layer import LAYER_SOURCE, build_layer_for_this_machine, layer_aws_services

ROOT = Path(__file__).resolve().parents[3]

# Run in the Lambda-like interpreter: imports the function's handler and every module of the shared
# package (but the command lines' __main__), and reports each module compiled from source (no .pyc used).
IMPORT_EVERYTHING = """
import importlib, importlib._bootstrap_external as external, json, pkgutil, sys

compiled = []
source_to_code = external.SourceLoader.source_to_code

def counting_source_to_code(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return source_to_code(self, data, path, *args, **kwargs)

external.SourceLoader.source_to_code = counting_source_to_code
import app
import airtable_mirror
modules = [
    info.name
    for info in pkgutil.walk_packages(airtable_mirror.__path__, "airtable_mirror.")
    if not info.name.endswith(".__main__")  # a command line, which would run
]
for name in modules:
    importlib.import_module(name)
print(json.dumps({"modules": len(modules), "handler": callable(app.lambda_handler), "compiled": compiled}))
"""


def run_like_lambda(script: str, path: list[Path], cwd: Path) -> Any:
    """Runs ``script`` as Lambda would import code: a fresh interpreter without this machine's
    site-packages, only ``path`` to import from; returns the JSON its last line prints."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(str(folder) for folder in path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "airtable-mirror",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def host_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer_for_this_machine(tmp_path_factory.mktemp("common-layer"))


def function_folders() -> list[Path]:
    resources = load_template()["Resources"].values()
    return sorted(
        ROOT / resource["Properties"]["CodeUri"]
        for resource in resources
        if resource["Type"] == "AWS::Serverless::Function"
    )


@pytest.mark.parametrize("folder", function_folders(), ids=lambda folder: folder.name)
def test_every_function_imports_the_whole_package_from_the_layer_alone_without_compiling_it(
    host_layer: Path, folder: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task"  # the function's code as SAM's Python builder copies it: no bytecode
    shutil.copytree(folder, task, ignore=shutil.ignore_patterns("__pycache__"))
    report = run_like_lambda(IMPORT_EVERYTHING, [task, host_layer], cwd=task)
    assert report["handler"] is True
    assert report["modules"] > 50
    # Only the function's own module is compiled (SAM's Python builder copies it without bytecode)
    assert report["compiled"] == [str(task / "app.py")]


def services_the_code_uses() -> set[str]:
    """Every service the shipped code makes a client for: `client("name", ...)` calls, and powertools'
    Parameters where it reads secrets."""
    services: set[str] = set()
    for folder in (LAYER_SOURCE / "airtable_mirror", ROOT / "functions"):
        for source in folder.rglob("*.py"):
            text = source.read_text()
            services.update(re.findall(r"""\bclient\(\s*["']([a-z0-9-]+)["']""", text))
            if "get_secret(" in text or "SecretsProvider" in text:
                services.add("secretsmanager")
    return services


def test_the_layer_keeps_the_data_of_every_aws_service_the_code_uses() -> None:
    used = services_the_code_uses()
    assert {"dynamodb", "sqs", "secretsmanager", "cloudformation"} <= used  # the scan finds them
    assert used <= layer_aws_services(), f"add {sorted(used - layer_aws_services())} to AWS_SERVICES"


def test_a_client_of_each_kept_service_and_no_other_can_be_made_from_the_layer(host_layer: Path) -> None:
    kept = sorted(layer_aws_services())
    script = f"""
import boto3, botocore.exceptions, json
session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
made = [session.client(name).meta.service_model.service_name for name in {kept!r}]
try:
    session.client("s3")
    refused = False
except botocore.exceptions.UnknownServiceError:
    refused = True
print(json.dumps({{"made": made, "refused": refused}}))
"""
    report = run_like_lambda(script, [host_layer], cwd=host_layer)
    assert report == {"made": kept, "refused": True}


def test_the_build_refuses_a_python_other_than_the_runtimes(tmp_path: Path) -> None:
    other_python = tmp_path / "python-3.11"
    other_python.write_text("#!/bin/sh\nexit 1\n")  # what `python -c 'sys.exit(version != 3.12)'` says
    other_python.chmod(0o755)
    result = subprocess.run(
        [
            "make",
            "-C",
            str(LAYER_SOURCE),
            "build-CommonLayer",
            f"ARTIFACTS_DIR={tmp_path}",
            f"PYTHON={other_python}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "is not Python 3.12" in result.stdout + result.stderr
    assert not (tmp_path / "python").exists()


def test_the_build_needs_the_artifacts_folder_sam_gives_it() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "ARTIFACTS_DIR"}
    result = subprocess.run(
        ["make", "-C", str(LAYER_SOURCE), "build-CommonLayer"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert result.returncode != 0
    assert "ARTIFACTS_DIR is not set" in result.stdout + result.stderr
