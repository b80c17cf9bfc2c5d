"""Who may call what, as deployed: template.yaml translated (language extensions, then SAM) for each
AuthMode and PublicDocs, in the SAM virtualenv (aws-sam-cli pins its own boto3 and pydantic)."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"

# Runs in .venv-sam: prints each route's security requirement as the HTTP API will import it
TRANSLATE = """
import json, sys
from samcli.lib.cfn_language_extensions import process_template
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

parameters = json.loads(sys.argv[2])
template = yaml_parse(open(sys.argv[1]).read())
template = process_template(template, parameter_values=parameters)
template["Transform"] = "AWS::Serverless-2016-10-31"
for resource in template["Resources"].values():
    properties = resource.get("Properties", {})
    for name in ("CodeUri", "ContentUri"):
        if name in properties:
            properties[name] = "s3://bucket/key"

class NoManagedPolicies:
    def load(self):
        return {}

translated = transform(template, parameters, NoManagedPolicies())
body = translated["Resources"]["HttpApi"]["Properties"]["Body"]
print(json.dumps({
    "routes": {
        f"{method.upper()} {path}": operation.get("security")
        for path, item in body["paths"].items()
        for method, operation in item.items()
    },
    "schemes": body.get("components", {}).get("securitySchemes", {}),
}))
"""

REQUIRED = {
    "AirtableBaseId": "appDEMO0000000001",
    "AirtableTokenSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:airtable-token",
}
DATA_ROUTES = {"GET /records", "GET /records/{record_id}", "GET /people", "GET /tasks", "GET /tables"}


def translate(**parameters: str) -> dict[str, Any]:
    if not SAM_PYTHON.exists():
        pytest.fail("aws-sam-cli is not installed: run `make install-sam` (make test does it)")
    environment = dict(os.environ, AWS_DEFAULT_REGION="us-east-1", SAM_CLI_TELEMETRY="0")
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", TRANSLATE, str(ROOT / "template.yaml"), json.dumps(REQUIRED | parameters)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    translated: dict[str, Any] = json.loads(result.stdout)
    return translated


def test_by_default_every_route_requires_iam_and_so_do_the_docs() -> None:
    translated = translate()

    routes = translated["routes"]
    assert DATA_ROUTES | {"GET /docs"} <= set(routes)
    assert all(security == [{"AWS_IAM": []}] for security in routes.values()), routes
    assert set(translated["schemes"]) == {"AWS_IAM"}


def test_with_jwt_every_route_requires_the_jwt_authorizer_sync_routes_included() -> None:
    translated = translate(
        AuthMode="JWT", JwtIssuer="https://issuer.example.com", JwtAudience="airtable-mirror-clients"
    )

    routes = translated["routes"]
    assert any(route.startswith("POST /sync") for route in routes)
    assert all(security == [{"JwtAuthorizer": []}] for security in routes.values()), routes
    jwt = translated["schemes"]["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert jwt["jwtConfiguration"] == {
        "issuer": "https://issuer.example.com",
        "audience": ["airtable-mirror-clients"],
    }
    assert jwt["identitySource"] == "$request.header.Authorization"


@pytest.mark.parametrize("auth_mode", ["IAM", "JWT"])
def test_public_docs_open_only_the_docs(auth_mode: str) -> None:
    translated = translate(
        AuthMode=auth_mode, JwtIssuer="https://issuer.example.com", JwtAudience="aud", PublicDocs="true"
    )

    routes = translated["routes"]
    # SAM's way of writing "no authorizer" (`Auth: Authorizer: NONE`) into the API definition
    assert routes["GET /docs"] == [{"NONE": []}]
    expected: list[dict[str, list[str]]] = [{"JwtAuthorizer" if auth_mode == "JWT" else "AWS_IAM": []}]
    assert all(routes[route] == expected for route in routes if route != "GET /docs"), routes
