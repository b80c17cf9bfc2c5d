"""Where the Airtable token comes from: Secrets Manager in AWS, the environment or ``.env`` locally.

The token is fetched when a request is made (cached by powertools Parameters for five minutes) so a
rotated secret is picked up without a deployment, and it is never put in an environment variable at
deploy time.
"""

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from .settings import ConfigurationError, Settings, read_dotenv

SECRET_CACHE_SECONDS = 300


class TokenUnavailableError(ConfigurationError):
    """No Airtable token is configured."""


def _token_from_secret_value(value: str) -> str:
    """A secret holds the bare token, or JSON with a ``token`` (or ``AIRTABLE_API_KEY``) key."""
    stripped = value.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError:
            raise TokenUnavailableError("the Airtable token secret is not valid JSON") from None
        for key in ("token", "AIRTABLE_API_KEY", "airtable_api_key"):
            if isinstance(document, dict) and isinstance(document.get(key), str):
                return str(document[key])
        raise TokenUnavailableError("the Airtable token secret has no 'token' key")
    if not stripped:
        raise TokenUnavailableError("the Airtable token secret is empty")
    return stripped


def make_token_provider(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path = Path(".env"),
) -> Callable[[], str]:
    if settings.airtable_token_secret:
        secret_name = settings.airtable_token_secret

        def from_secrets_manager() -> str:
            from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - only in AWS

            value = parameters.get_secret(secret_name, max_age=SECRET_CACHE_SECONDS)
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            return _token_from_secret_value(str(value))

        return from_secrets_manager

    env = os.environ if environ is None else environ
    token = env.get("AIRTABLE_API_KEY") or read_dotenv(dotenv_path).get("AIRTABLE_API_KEY")
    if not token:
        raise TokenUnavailableError(
            "no Airtable token: set AIRTABLE_TOKEN_SECRET (a Secrets Manager secret, in AWS) "
            "or AIRTABLE_API_KEY (environment or .env, locally)"
        )
    return lambda: token
