"""Which deployment the CLI talks to, and how its requests are authorized.

- ``--api-url URL``: that URL; no authorization unless a bearer token is given.
- ``--stack-name NAME [--region R]``: the deployed stack's ``HttpApiUrl`` output (CloudFormation
  ``describe_stacks``); requests are signed with SigV4 (service ``execute-api``) using botocore's
  usual credentials, or carry a bearer token when the stack uses a JWT authorizer (AuthMode=JWT).
- neither: the local stack of ``make dev``, found through ``.local-data/dev-stack.json``, else
  http://127.0.0.1:3000.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

DEFAULT_API_URL = "http://127.0.0.1:3000"
DEFAULT_DEV_STACK_FILE = Path(".local-data") / "dev-stack.json"
DEV_STACK_FILE_VARIABLE = "AIRTABLE_MIRROR_DEV_STACK"
BEARER_TOKEN_VARIABLE = "AIRTABLE_MIRROR_BEARER_TOKEN"  # noqa: S105 - a variable name, not a token
API_URL_OUTPUT = "HttpApiUrl"
SIGNING_SERVICE = "execute-api"
# The region is part of an execute-api host name: https://{api}.execute-api.{region}.amazonaws.com
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


class TargetError(Exception):
    """The deployment to talk to cannot be found or its requests cannot be authorized."""


@dataclass(frozen=True)
class DevStack:
    """What `make dev` writes once the local stack is up."""

    api_url: str
    function_url: str | None
    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "DevStack | None":
        """The file's content; None when there is no file. A file that is not what `make dev` writes
        is an error, not a silent fallback to the default URL."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise TargetError(f"cannot read {path}: {error.strerror}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise TargetError(f"{path} is not JSON ({error.msg}): is `make dev` still starting?") from None
        if not isinstance(document, dict) or not isinstance(document.get("api_url"), str):
            raise TargetError(f"{path} has no api_url: it is not a file `make dev` wrote")
        environment = document.get("environment") or {}
        if not isinstance(environment, dict):
            raise TargetError(f"{path}: environment must be an object")
        function_url = document.get("function_url")
        return cls(
            api_url=document["api_url"],
            function_url=function_url if isinstance(function_url, str) else None,
            environment={str(name): str(value) for name, value in environment.items()},
        )


@dataclass(frozen=True)
class Target:
    api_url: str
    description: str  # for messages: "the local stack", "stack airtable-mirror (eu-west-1)", a URL
    local: bool  # a loopback address: `make dev` is what should be answering
    auth: requests.auth.AuthBase | None = None
    stack_name: str | None = None
    region: str | None = None
    dev_stack: DevStack | None = None


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class ExecuteApiSigV4Auth(requests.auth.AuthBase):
    """Signs each request for API Gateway's IAM authorizer with botocore's credentials.

    Only the host, the date, the session token and the content type are signed: headers a proxy or
    requests itself may rewrite (Connection, Accept-Encoding, User-Agent) would break the signature.
    """

    def __init__(self, credentials_provider: Callable[[], Any], region: str) -> None:
        self._credentials_provider = credentials_provider
        self._region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        credentials = self._credentials_provider()
        signed_headers = {}
        if request.headers.get("Content-Type"):
            signed_headers["Content-Type"] = request.headers["Content-Type"]
        body = request.body if request.body is not None else b""
        aws_request = AWSRequest(method=request.method, url=request.url, data=body, headers=signed_headers)
        SigV4Auth(credentials, SIGNING_SERVICE, self._region).add_auth(aws_request)
        for name, value in aws_request.headers.items():
            request.headers[name] = value
        return request


def resolve_target(
    *,
    api_url: str | None,
    stack_name: str | None,
    region: str | None,
    bearer_token: str | None,
    dev_stack_file: Path,
    environ: Mapping[str, str],
    cloudformation_factory: Callable[[str | None], Any],
    botocore_session_factory: Callable[[], Any],
) -> Target:
    token = bearer_token or environ.get(BEARER_TOKEN_VARIABLE) or None
    if api_url and stack_name:
        raise TargetError("give --api-url or --stack-name, not both")
    if stack_name:
        url = stack_api_url(cloudformation_factory(region), stack_name)
        if token:
            auth: requests.auth.AuthBase = BearerAuth(token)
            signing_region = region
        else:
            session = botocore_session_factory()
            signing_region = region or session.get_config_variable("region") or _region_from_url(url)
            if not signing_region:
                raise TargetError("no AWS region: give --region (or set AWS_REGION)")
            auth = ExecuteApiSigV4Auth(lambda: _frozen_credentials(session), signing_region)
        label = f"stack {stack_name}" + (f" ({signing_region})" if signing_region else "")
        return Target(
            api_url=_checked_url(url),
            description=label,
            local=_is_loopback(url),
            auth=auth,
            stack_name=stack_name,
            region=region,
        )
    dev_stack = DevStack.load(dev_stack_file)
    if api_url:
        url = _checked_url(api_url)
        matching_dev_stack = dev_stack if dev_stack and dev_stack.api_url.rstrip("/") == url else None
        return Target(
            api_url=url,
            description=url,
            local=_is_loopback(url),
            auth=BearerAuth(token) if token else None,
            dev_stack=matching_dev_stack,
        )
    url = _checked_url(dev_stack.api_url if dev_stack else DEFAULT_API_URL)
    return Target(
        api_url=url,
        description=f"the local stack at {url}",
        local=True,
        auth=BearerAuth(token) if token else None,
        dev_stack=dev_stack,
    )


def stack_api_url(cloudformation: Any, stack_name: str) -> str:
    """The ``HttpApiUrl`` output of the deployed stack."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore's ClientError, missing credentials, no network
        raise TargetError(f"cannot describe stack {stack_name!r}: {error}") from None
    if not stacks:
        raise TargetError(f"no stack named {stack_name!r}")
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    url = outputs.get(API_URL_OUTPUT)
    if not url:
        raise TargetError(f"stack {stack_name!r} has no {API_URL_OUTPUT} output: is it airtable-mirror?")
    return str(url)


def _frozen_credentials(session: Any) -> Any:
    credentials = session.get_credentials()
    if credentials is None:
        raise TargetError(
            "no AWS credentials to sign requests with (configure a profile or the AWS_* variables, "
            f"or give --bearer-token / {BEARER_TOKEN_VARIABLE} for a JWT-authorized stack)"
        )
    return credentials.get_frozen_credentials()


def _checked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise TargetError(f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def _region_from_url(url: str) -> str | None:
    match = _EXECUTE_API_HOST.search(urlsplit(url).netloc)
    return match.group(1) if match else None
