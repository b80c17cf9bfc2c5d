"""Where webhook MAC secrets live: Secrets Manager in AWS, the mirror table locally.

Airtable shows a webhook's MAC secret once, when the webhook is created; the mirror must keep it to
check every ping. Behind :class:`MacSecretStore`:

- :class:`SecretsManagerMacSecretStore` (AWS, ``WEBHOOK_MAC_STORE=secretsmanager``): one secret per
  webhook, named ``{prefix}{base}/{webhook}``, so IAM can grant the receiver read access to exactly
  these secrets and the lifecycle code write access, and a secret is created or deleted without a
  read-modify-write of a shared document. Reads go through powertools Parameters, cached five minutes
  (a webhook's secret never changes; a recreated webhook has a new id, hence a new name).
- :class:`TableMacSecretStore` (``WEBHOOK_MAC_STORE=table``): an item next to the webhook's state
  in the mirror table, for the local stack, tests and the benchmark, where there is no Secrets Manager.
  Anyone who can read the table can read the secrets, which is why AWS does not use it.

The secret of the seed push format (``WEBHOOK_SECRET``) comes from :func:`make_push_key_provider`.
"""

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from airtable_mirror.repository.keys import check_identifier
from airtable_mirror.repository.webhooks import WebhookRepository
from airtable_mirror.settings import ConfigurationError, Settings, read_dotenv

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SECRET_CACHE_SECONDS = 300


class MacSecretStore(Protocol):
    def put(self, base_id: str, webhook_id: str, mac_secret_base64: str) -> None: ...

    def get(self, base_id: str, webhook_id: str) -> str | None:
        """The webhook's ``macSecretBase64``, or None if none is stored."""

    def delete(self, base_id: str, webhook_id: str) -> None: ...


class TableMacSecretStore:
    def __init__(self, repository: WebhookRepository) -> None:
        self._repository = repository

    def put(self, base_id: str, webhook_id: str, mac_secret_base64: str) -> None:
        self._repository.put_secret(base_id, webhook_id, mac_secret_base64)

    def get(self, base_id: str, webhook_id: str) -> str | None:
        return self._repository.get_secret(base_id, webhook_id)

    def delete(self, base_id: str, webhook_id: str) -> None:
        self._repository.delete_secret(base_id, webhook_id)


class SecretsManagerMacSecretStore:
    """One Secrets Manager secret per webhook; reads cached by a powertools SecretsProvider."""

    def __init__(
        self,
        client: "SecretsManagerClient",
        prefix: str,
        *,
        max_age_seconds: int = SECRET_CACHE_SECONDS,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

        self._client = client
        self._prefix = prefix
        self._max_age = max_age_seconds
        self._tags = dict(tags or {})
        self._provider = SecretsProvider(boto3_client=client)

    def name(self, base_id: str, webhook_id: str) -> str:
        base = check_identifier("base_id", base_id)
        return f"{self._prefix}{base}/{check_identifier('webhook_id', webhook_id)}"

    def put(self, base_id: str, webhook_id: str, mac_secret_base64: str) -> None:
        name = self.name(base_id, webhook_id)
        try:
            if self._tags:
                self._client.create_secret(
                    Name=name,
                    SecretString=mac_secret_base64,
                    Description=f"MAC secret of Airtable webhook {webhook_id} (base {base_id})",
                    Tags=[{"Key": key, "Value": value} for key, value in self._tags.items()],
                )
            else:
                self._client.create_secret(
                    Name=name,
                    SecretString=mac_secret_base64,
                    Description=f"MAC secret of Airtable webhook {webhook_id} (base {base_id})",
                )
        except self._client.exceptions.ResourceExistsException:
            self._client.put_secret_value(SecretId=name, SecretString=mac_secret_base64)

    def get(self, base_id: str, webhook_id: str) -> str | None:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415

        try:
            value: Any = self._provider.get(self.name(base_id, webhook_id), max_age=self._max_age)
        except GetParameterError as error:
            # powertools wraps every failure; only "no such secret" means the webhook has none.
            if _error_code(error.__context__) == "ResourceNotFoundException":
                return None
            raise
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        return str(value) if value else None

    def delete(self, base_id: str, webhook_id: str) -> None:
        try:
            self._client.delete_secret(
                SecretId=self.name(base_id, webhook_id), ForceDeleteWithoutRecovery=True
            )
        except self._client.exceptions.ResourceNotFoundException:
            return


def _error_code(error: BaseException | None) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def make_push_key_provider(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path = Path(".env"),
) -> Callable[[], bytes | None]:
    """The key that signs seed-format pushes (``WEBHOOK_SECRET``), or None when pushes are off.

    In AWS the secret named by ``WEBHOOK_PUSH_SECRET`` (Secrets Manager, cached five minutes; the bare
    value or JSON with a ``WEBHOOK_SECRET`` key); locally ``WEBHOOK_SECRET`` from the environment or
    ``.env``, as the seed project read it.
    """
    if settings.webhook_push_secret:
        secret_name = settings.webhook_push_secret

        def from_secrets_manager() -> bytes | None:
            from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - only in AWS

            value: Any = parameters.get_secret(secret_name, max_age=SECRET_CACHE_SECONDS)
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            return _push_key(str(value))

        return from_secrets_manager
    env = os.environ if environ is None else environ
    secret = env.get("WEBHOOK_SECRET") or read_dotenv(dotenv_path).get("WEBHOOK_SECRET")
    key = _push_key(secret) if secret else None
    return lambda: key


def _push_key(value: str) -> bytes | None:
    stripped = value.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError:
            raise ConfigurationError("the webhook push secret is not valid JSON") from None
        found = document.get("WEBHOOK_SECRET") if isinstance(document, dict) else None
        if not isinstance(found, str):
            raise ConfigurationError("the webhook push secret has no 'WEBHOOK_SECRET' key")
        stripped = found.strip()
    return stripped.encode("utf-8") if stripped else None
