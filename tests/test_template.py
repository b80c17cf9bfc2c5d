"""template.yaml: valid for SAM (validate --lint, build), and consistent with the code and events/."""

import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.dynamodb import load_template
from tests.support.layer import layer_aws_services

ROOT = Path(__file__).resolve().parents[1]
SAM = ROOT / ".venv-sam" / "bin" / "sam"


def sam_environment() -> dict[str, str]:
    """sam build needs python3.12 on PATH: the interpreter running the tests is that version."""
    environment = dict(os.environ, SAM_CLI_TELEMETRY="0")
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    python312 = shutil.which("python3.12", path=environment["PATH"])
    if python312 is None:
        pyenv = sorted(Path.home().glob(".pyenv/versions/3.12.*/bin"))
        if pyenv:
            environment["PATH"] = f"{pyenv[-1]}{os.pathsep}{environment['PATH']}"
    return environment


def run_sam(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    if not SAM.exists():
        pytest.fail("aws-sam-cli is not installed: run `make install-sam` (make test does it)")
    return subprocess.run(
        [str(SAM), *arguments],
        cwd=cwd,
        env=sam_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_sam_validate_lint_passes() -> None:
    result = run_sam("validate", "--lint", "--template-file", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_build_passes(tmp_path: Path) -> None:
    result = run_sam(
        "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(tmp_path / "build")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    layer = tmp_path / "build" / "CommonLayer" / "python"
    assert (layer / "airtable_mirror" / "__init__.py").exists()
    assert (layer / "aws_lambda_powertools").is_dir()
    # Development-only code never ships, nor the scripts pip installs beside the packages
    assert not (layer / "airtable_emulator").exists()
    assert not (layer / "bin").exists()
    assert_ships_bytecode_valid_in_lambda(layer)
    # Only the AWS services the code uses keep their data (boto3 has data for a few services only)
    assert service_folders(layer / "botocore" / "data") == layer_aws_services()
    assert service_folders(layer / "boto3" / "data") <= layer_aws_services()
    # The wheels are the functions' architecture's (template.yaml: arm64), not this machine's
    assert list((layer / "pydantic_core").glob("_pydantic_core.*-aarch64-linux-gnu.so"))
    # boto3 ships with the botocore it was released with (the X-Ray SDK brings botocore into the layer,
    # where it would shadow the runtime's and pair the runtime's boto3 with another release)
    assert distribution_version(layer, "boto3") == distribution_version(layer, "botocore")


def assert_ships_bytecode_valid_in_lambda(layer: Path) -> None:
    """Every module has its .pyc, hash-based without a source check (PEP 552), so the 1980 dates SAM
    gives the zip's files cannot invalidate them, and naming the file's path in Lambda (/opt/python)."""
    missing = [
        source
        for source in layer.rglob("*.py")
        if not Path(importlib.util.cache_from_source(str(source))).exists()
    ]
    assert not missing, f"{len(missing)} modules without bytecode, {missing[:3]}"
    for source in (layer / "airtable_mirror" / "runtime.py", layer / "pydantic" / "main.py"):
        bytecode = Path(importlib.util.cache_from_source(str(source))).read_bytes()
        assert bytecode[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(bytecode[4:8], "little") == 0b01  # hash-based, source not checked
        code = marshal.loads(bytecode[16:])  # noqa: S302 - bytecode this test's build just wrote
        assert code.co_filename == f"/opt/python/{source.relative_to(layer).as_posix()}"


def service_folders(data: Path) -> set[str]:
    return {folder.name for folder in data.iterdir() if folder.is_dir()}


def distribution_version(layer: Path, name: str) -> str:
    (metadata,) = layer.glob(f"{name}-*.dist-info")
    return metadata.name.removeprefix(f"{name}-").removesuffix(".dist-info")


def test_layer_makefile_fetches_wheels_for_the_functions_architecture() -> None:
    template = load_template()
    architectures = template["Globals"]["Function"]["Architectures"]
    layer = template["Resources"]["CommonLayer"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    assert architectures == layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    makefile = (ROOT / "layers" / "common" / "Makefile").read_text()
    (platforms,) = (
        line.partition("?=")[2].split()
        for line in makefile.splitlines()
        if line.startswith("LAYER_PLATFORMS ?=")
    )
    assert platforms, "no platform: the layer would get this machine's wheels"
    assert all(platform.endswith("_aarch64") for platform in platforms), platforms


def test_every_function_handler_exists_and_logs_to_a_group_with_retention() -> None:
    template = load_template()
    for name, resource in functions(template).items():
        properties = resource["Properties"]
        module, _, function_name = properties["Handler"].partition(".")
        source = ROOT / properties["CodeUri"] / f"{module}.py"
        assert source.exists(), f"{name}: {source} is missing"
        assert f"def {function_name}(" in source.read_text(), f"{name}: no {function_name} in {source}"
        group = properties["LoggingConfig"]["LogGroup"]
        group_name = getattr(group, "value", group)
        log_group = template["Resources"][group_name]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert "RetentionInDays" in log_group["Properties"], f"{name}: log group without retention"


def test_http_api_has_one_event_per_route_and_no_catch_all() -> None:
    template = load_template()
    routes: list[tuple[str, str]] = []
    for resource in functions(template).values():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.append((event["Properties"]["Method"], event["Properties"]["Path"]))
    assert routes, "no HttpApi routes"
    assert len(routes) == len(set(routes))
    assert not any("proxy+" in path or method.upper() == "ANY" for method, path in routes)


def test_sqs_event_sources_report_partial_batch_failures_and_have_dead_letter_queues() -> None:
    template = load_template()
    for name, resource in functions(template).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            assert "ReportBatchItemFailures" in event["Properties"].get("FunctionResponseTypes", []), name
            # `!GetAtt SyncQueue.Arn` is kept as the tag's text, "SyncQueue.Arn"
            queue_name = str(getattr(event["Properties"]["Queue"], "value", "")).split(".")[0]
            queue = template["Resources"][queue_name]
            assert "RedrivePolicy" in queue["Properties"], f"{queue_name} has no dead-letter queue"


def test_no_function_has_a_wildcard_dynamodb_policy() -> None:
    template = load_template()
    for name, resource in functions(template).items():
        for policy in resource["Properties"].get("Policies", []):
            assert not (isinstance(policy, dict) and "DynamoDBCrudPolicy" in policy), (
                f"{name}: use least privilege"
            )
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                assert "dynamodb:*" not in actions and "*" not in actions, name
                assert "dynamodb:Scan" not in actions, f"{name}: the mirror never scans"


def test_every_function_has_a_sample_event() -> None:
    events = {path.name for path in (ROOT / "events").glob("*.json")}
    for resource in functions(load_template()).values():
        folder = Path(resource["Properties"]["CodeUri"]).name
        assert any(name.startswith(folder) for name in events), f"no events/{folder}*.json"
