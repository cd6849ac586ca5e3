"""`HashiCorpVaultKvSecretProvider`: secrets of a HashiCorp Vault KV engine (v1 or v2),
read over the Vault HTTP API with the master's HTTP client (no `hvac` needed).

A secret name is `path<delimiter>key`: the value of `key` in the secret at `path`
(the escape character keeps a literal delimiter in the path); a name without a
delimiter reads the key `value`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from twisted.internet import defer

from buildbot import config
from buildbot.secrets.providers.base import SecretProviderBase
from buildbot.util import httpclientservice


class VaultError(Exception):
    """Vault answered something other than the secret or "not found"."""


class VaultAuthenticatorToken:
    """Authenticate with a fixed Vault token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def authenticate(self, http: Any) -> defer.Deferred[str]:
        return defer.succeed(self.token)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.token == self.token  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.token))

    def __repr__(self) -> str:
        return "VaultAuthenticatorToken(<token>)"


class VaultAuthenticatorApprole:
    """Log in with an AppRole (role id and secret id) for a client token."""

    def __init__(self, roleId: str, secretId: str) -> None:
        self.roleId = roleId
        self.secretId = secretId

    def authenticate(self, http: Any) -> defer.Deferred[str]:
        return defer.ensureDeferred(self._login(http))

    async def _login(self, http: Any) -> str:
        response = await http.post(
            "/v1/auth/approle/login", json={"role_id": self.roleId, "secret_id": self.secretId}
        )
        if response.code != 200:
            raise VaultError(f"Vault AppRole login failed: HTTP {response.code}")
        body = await response.json()
        try:
            return body["auth"]["client_token"]
        except (KeyError, TypeError):
            raise VaultError("Vault AppRole login: no client token in the answer") from None

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and (other.roleId, other.secretId) == (self.roleId, self.secretId)  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((type(self), self.roleId, self.secretId))

    def __repr__(self) -> str:
        return f"VaultAuthenticatorApprole({self.roleId!r}, <secret id>)"


def split_secret_name(name: str, delimiter: str, escape: str) -> tuple[str, str]:
    """(path, key) of a secret name: split at its last unescaped delimiter."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == escape and i + 1 < len(name):
            current.append(name[i + 1])
            i += 2
            continue
        if ch == delimiter:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    if len(parts) == 1:
        return parts[0], "value"
    return delimiter.join(parts[:-1]), parts[-1]


class HashiCorpVaultKvSecretProvider(SecretProviderBase):
    name = "SecretInVaultKv"  # type: ignore[assignment]

    def checkConfig(  # type: ignore[override]
        self,
        vault_server=None,
        authenticator=None,
        secrets_mount=None,
        api_version=2,
        path_delimiter="|",
        path_escape="\\",
    ):
        if not isinstance(vault_server, str):
            config.error(
                f"HashiCorpVaultKvSecretProvider: vault_server must be a URL string, "
                f"not {vault_server!r}"
            )
        if not hasattr(authenticator, "authenticate"):
            config.error(
                "HashiCorpVaultKvSecretProvider: authenticator must be a "
                "VaultAuthenticatorToken or VaultAuthenticatorApprole"
            )
        if secrets_mount is not None and not isinstance(secrets_mount, str):
            config.error(
                f"HashiCorpVaultKvSecretProvider: secrets_mount must be a string, "
                f"not {secrets_mount!r}"
            )
        if api_version not in (1, 2):
            config.error(
                f"HashiCorpVaultKvSecretProvider: api_version {api_version!r} is not 1 or 2"
            )
        for what, value in (("path_delimiter", path_delimiter), ("path_escape", path_escape)):
            if not isinstance(value, str) or len(value) != 1:
                config.error(
                    f"HashiCorpVaultKvSecretProvider: {what} must be a single character, "
                    f"not {value!r}"
                )
        if path_delimiter == path_escape:
            config.error("HashiCorpVaultKvSecretProvider: path_delimiter and path_escape differ")

    @defer.inlineCallbacks
    def reconfigService(  # type: ignore[override]
        self,
        vault_server=None,
        authenticator=None,
        secrets_mount=None,
        api_version=2,
        path_delimiter="|",
        path_escape="\\",
    ):
        self.vault_server = vault_server.rstrip("/")
        self.authenticator = authenticator
        self.secrets_mount = (secrets_mount or "secret").strip("/")
        self.api_version = api_version
        self.path_delimiter = path_delimiter
        self.path_escape = path_escape
        self._token: str | None = None
        # shared with any other user of this server: never stopped from here
        self._http = yield httpclientservice.HTTPClientService.getService(
            self.master, self.vault_server
        )

    def _url(self, path: str) -> str:
        quoted = quote(path.strip("/"), safe="/")
        if self.api_version == 2:
            return f"/v1/{self.secrets_mount}/data/{quoted}"
        return f"/v1/{self.secrets_mount}/{quoted}"

    def get(self, entry: str) -> defer.Deferred[str | None]:
        return defer.ensureDeferred(self._get(entry))

    async def _get(self, entry: str) -> str | None:
        path, key = split_secret_name(entry, self.path_delimiter, self.path_escape)
        response = await self._read(path)
        if response.code == 403 and not isinstance(self.authenticator, VaultAuthenticatorToken):
            self._token = None  # an expired login: log in again, once
            response = await self._read(path)
        if response.code == 404:
            return None
        if response.code != 200:
            raise VaultError(f"Vault answered HTTP {response.code} for secret path {path!r}")
        body = await response.json()
        data = (body or {}).get("data") or {}
        if self.api_version == 2:
            data = data.get("data") or {}
        value = data.get(key)
        return None if value is None else str(value)

    async def _read(self, path: str) -> Any:
        if self._token is None:
            self._token = await self.authenticator.authenticate(self._http)
        return await self._http.get(self._url(path), headers={"X-Vault-Token": self._token})
