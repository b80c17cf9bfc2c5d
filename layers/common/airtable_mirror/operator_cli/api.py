"""The HTTP API as the CLI sees it: JSON in, JSON out, every failure one readable sentence."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from airtable_mirror.operator_cli.target import Target

CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_READ_TIMEOUT_SECONDS = 30.0
_MAX_TEXT_IN_MESSAGE = 200


class OperatorError(Exception):
    """Ends the command with a one-line message on stderr and exit code 2."""


class Unreachable(OperatorError):
    pass


class ApiFailure(OperatorError):
    """The API answered 4xx or 5xx: ``message`` is the API's own, with its code."""

    def __init__(self, status: int, code: str | None, message: str, body: Any) -> None:
        super().__init__(f"HTTP {status}" + (f" {code}" if code else "") + f": {message}")
        self.status = status
        self.code = code
        self.body = body


class MirrorApi:
    def __init__(
        self,
        target: Target,
        *,
        read_timeout: float = DEFAULT_READ_TIMEOUT_SECONDS,
        session: requests.Session | None = None,
    ) -> None:
        self.target = target
        self._timeout = (min(CONNECT_TIMEOUT_SECONDS, read_timeout), read_timeout)
        self._session = session or requests.Session()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        status, body = self._request("GET", path, params)
        if status >= 400:
            raise _failure(status, body)
        return body

    def post(self, path: str, *, accept: frozenset[int] = frozenset()) -> tuple[int, Any]:
        """POST without a body; statuses in ``accept`` (409, say) are answers, not failures."""
        status, body = self._request("POST", path, None)
        if status >= 400 and status not in accept:
            raise _failure(status, body)
        return status, body

    def _request(self, method: str, path: str, params: Mapping[str, str | int] | None) -> tuple[int, Any]:
        url = self.target.api_url + path
        try:
            response = self._session.request(
                method,
                url,
                params={name: str(value) for name, value in (params or {}).items()},
                headers={"Accept": "application/json"},
                auth=self.target.auth,
                timeout=self._timeout,
            )
        except requests.ConnectionError as error:
            if isinstance(error, requests.ConnectTimeout) or "refused" not in str(error).lower():
                raise Unreachable(f"cannot reach {self.target.api_url}: {_reason(error)}") from None
            hint = " — is `make dev` running?" if self.target.local else ""
            raise Unreachable(f"nothing answers at {self.target.api_url}{hint}") from None
        except requests.Timeout:
            raise Unreachable(
                f"{self.target.api_url} did not answer {method} {path} within {self._timeout[1]:g} s"
            ) from None
        except requests.RequestException as error:
            raise Unreachable(f"{method} {url} failed: {_reason(error)}") from None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code < 400 and not isinstance(body, dict):
            raise OperatorError(
                f"{method} {path} answered HTTP {response.status_code} without a JSON object: "
                f"{_shortened(str(body))!r} — is {self.target.api_url} an airtable-mirror API?"
            )
        return response.status_code, body


def path_segment(value: str) -> str:
    """``value`` as one path segment: a table named ``a/b`` or ``50%`` stays one segment."""
    return quote(value, safe="")


def _failure(status: int, body: Any) -> ApiFailure:
    code: str | None = None
    message: str
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = str(body["error"].get("message") or "no message")
    elif isinstance(body, dict) and body.get("message"):
        # API Gateway's own answers ({"message": "Forbidden"}: the signature or token was refused)
        message = str(body["message"])
    else:
        message = _shortened(str(body)) or "no message"
    if status == 403 and code is None:
        message += " (API Gateway refused the request: check the credentials, region or token)"
    return ApiFailure(status, code, message, body)


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT_IN_MESSAGE else text[: _MAX_TEXT_IN_MESSAGE - 1] + "…"


def _reason(error: Exception) -> str:
    # requests nests the socket error several levels down; its innermost text is the useful part
    reason: BaseException = error
    while reason.args and isinstance(reason.args[0], BaseException):
        reason = reason.args[0]
    return _shortened(str(reason))
