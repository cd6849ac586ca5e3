from __future__ import annotations

import json
from urllib.parse import unquote

from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web import resource, server

from buildbot import config
from buildbot.secrets.providers.vault_hvac import (
    HashiCorpVaultKvSecretProvider,
    VaultAuthenticatorApprole,
    VaultAuthenticatorToken,
    VaultError,
    split_secret_name,
)
from buildbot.test.fake import fakemaster

TOKEN = "root-token"
ROLE, ROLE_SECRET = "role-1", "role-secret"


class FakeVault(resource.Resource):
    """Enough of Vault's HTTP API: KV v1 and v2 reads, AppRole login, token checks."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.kv1: dict[str, dict] = {}  # "mount/path" -> data
        self.kv2: dict[str, dict] = {}
        self.tokens = {TOKEN}
        self.logins = 0
        self.requests: list[str] = []

    def _answer(self, request, code, body):
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(body).encode()

    def render_POST(self, request):
        path = request.path.decode()
        self.requests.append("POST " + path)
        if path != "/v1/auth/approle/login":
            return self._answer(request, 404, {"errors": []})
        body = json.loads(request.content.read())
        if (body.get("role_id"), body.get("secret_id")) != (ROLE, ROLE_SECRET):
            return self._answer(request, 400, {"errors": ["invalid role or secret ID"]})
        self.logins += 1
        token = f"approle-token-{self.logins}"
        self.tokens.add(token)
        return self._answer(request, 200, {"auth": {"client_token": token}})

    def render_GET(self, request):
        path = unquote(request.path.decode())
        self.requests.append("GET " + path)
        if request.getHeader("X-Vault-Token") not in self.tokens:
            return self._answer(request, 403, {"errors": ["permission denied"]})
        rest = path[len("/v1/") :]
        mount, _, sub = rest.partition("/")
        if sub.startswith("data/") and f"{mount}/{sub[5:]}" in self.kv2:
            data = self.kv2[f"{mount}/{sub[5:]}"]
            return self._answer(request, 200, {"data": {"data": data, "metadata": {}}})
        if f"{mount}/{sub}" in self.kv1:
            return self._answer(request, 200, {"data": self.kv1[f"{mount}/{sub}"]})
        return self._answer(request, 404, {"errors": []})


class VaultProviderTests(unittest.TestCase):
    async def setUp(self):
        self.vault = FakeVault()
        self.port = reactor.listenTCP(0, server.Site(self.vault), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.url = f"http://127.0.0.1:{self.port.getHost().port}"
        self.master = fakemaster.make_master(self, reactor=reactor)
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def provider(self, **kwargs):
        kwargs.setdefault("vault_server", self.url)
        kwargs.setdefault("authenticator", VaultAuthenticatorToken(TOKEN))
        p = HashiCorpVaultKvSecretProvider(**kwargs)
        await p.setServiceParent(self.master)
        return p

    async def test_kv2_with_token(self):
        self.vault.kv2["secret/ci/deploy"] = {"password": "s3cr3t", "user": "bot"}
        self.vault.kv2["secret/plain"] = {"value": "v"}
        self.vault.kv2["secret/a|b"] = {"k": "escaped"}
        p = await self.provider()
        self.assertEqual(await p.get("ci/deploy|password"), "s3cr3t")
        self.assertEqual(await p.get("ci/deploy|user"), "bot")
        self.assertIsNone(await p.get("ci/deploy|nokey"))
        self.assertIsNone(await p.get("ci/nothing|password"))
        self.assertEqual(await p.get("plain"), "v")  # no delimiter: the key 'value'
        self.assertEqual(await p.get("a\\|b|k"), "escaped")
        self.assertIn("GET /v1/secret/data/ci/deploy", self.vault.requests)

    async def test_kv1_custom_mount_and_delimiter(self):
        self.vault.kv1["kv/app"] = {"api": "k1-value", "num": 3}
        p = await self.provider(secrets_mount="kv", api_version=1, path_delimiter="#")
        self.assertEqual(await p.get("app#api"), "k1-value")
        self.assertEqual(await p.get("app#num"), "3")
        self.assertIsNone(await p.get("app|api"))

    async def test_wrong_token_is_an_error(self):
        self.vault.kv2["secret/x"] = {"value": "v"}
        p = await self.provider(authenticator=VaultAuthenticatorToken("bad"))
        with self.assertRaises(VaultError) as cm:
            await p.get("x")
        self.assertIn("403", str(cm.exception))

    async def test_approle_logs_in_once_and_again_when_the_token_expires(self):
        self.vault.kv2["secret/x"] = {"value": "v"}
        p = await self.provider(authenticator=VaultAuthenticatorApprole(ROLE, ROLE_SECRET))
        self.assertEqual(await p.get("x"), "v")
        self.assertEqual(await p.get("x"), "v")
        self.assertEqual(self.vault.logins, 1)
        self.vault.tokens = {TOKEN}  # the client token expired
        self.assertEqual(await p.get("x"), "v")
        self.assertEqual(self.vault.logins, 2)

    async def test_approle_bad_credentials(self):
        p = await self.provider(authenticator=VaultAuthenticatorApprole(ROLE, "wrong"))
        with self.assertRaises(VaultError) as cm:
            await p.get("x")
        self.assertIn("login failed", str(cm.exception))

    async def test_approle_answer_without_token(self):
        auth = VaultAuthenticatorApprole(ROLE, ROLE_SECRET)

        class Http:
            def post(self, *a, **kw):
                class R:
                    code = 200

                    def json(self):
                        return defer.succeed({"auth": None})

                return defer.succeed(R())

        with self.assertRaises(VaultError):
            await auth.authenticate(Http())

    def test_config_checks(self):
        token = VaultAuthenticatorToken(TOKEN)
        for kwargs in (
            {"authenticator": token},
            {"vault_server": self.url},
            {"vault_server": self.url, "authenticator": token, "api_version": 3},
            {"vault_server": self.url, "authenticator": token, "secrets_mount": 5},
            {"vault_server": self.url, "authenticator": token, "path_delimiter": "||"},
            {"vault_server": self.url, "authenticator": token, "path_escape": ""},
            {"vault_server": self.url, "authenticator": token, "path_delimiter": "\\"},
        ):
            with self.assertRaises(config.ConfigErrors, msg=repr(kwargs)):
                HashiCorpVaultKvSecretProvider(**kwargs)

    def test_authenticators_compare_and_hide_credentials(self):
        self.assertEqual(VaultAuthenticatorToken("t"), VaultAuthenticatorToken("t"))
        self.assertNotEqual(VaultAuthenticatorToken("t"), VaultAuthenticatorToken("u"))
        self.assertEqual(hash(VaultAuthenticatorToken("t")), hash(VaultAuthenticatorToken("t")))
        self.assertEqual(VaultAuthenticatorApprole("r", "s"), VaultAuthenticatorApprole("r", "s"))
        self.assertNotEqual(VaultAuthenticatorApprole("r", "s"), VaultAuthenticatorToken("s"))
        self.assertEqual(
            hash(VaultAuthenticatorApprole("r", "s")), hash(VaultAuthenticatorApprole("r", "s"))
        )
        self.assertNotIn("xyz123", repr(VaultAuthenticatorToken("xyz123")))
        self.assertNotIn("xyz123", repr(VaultAuthenticatorApprole("r", "xyz123")))

    def test_split_secret_name(self):
        self.assertEqual(split_secret_name("a/b|k", "|", "\\"), ("a/b", "k"))
        self.assertEqual(split_secret_name("a|b|k", "|", "\\"), ("a|b", "k"))
        self.assertEqual(split_secret_name("a\\|b|k", "|", "\\"), ("a|b", "k"))
        self.assertEqual(split_secret_name("a\\\\|k", "|", "\\"), ("a\\", "k"))
        self.assertEqual(split_secret_name("alone", "|", "\\"), ("alone", "value"))
