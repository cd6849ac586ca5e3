"""Reading each BuildmasterConfig key into a MasterConfig, checking its type.

Every problem is reported with `config.error`, naming the key; a key that
fails keeps its default and is remembered in `KeyLoader.failed`, so that the
consistency checks that depend on it can be skipped instead of adding noise.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable
from typing import Any

from twisted.python import log

from buildbot import interfaces
from buildbot.config import www as www_checks
from buildbot.config.errors import error
from buildbot.util import service

# keys of c['www'] that the web server understands
WWW_KEYS = frozenset(
    """
    allowed_origins auth authz avatar_methods change_hook_auth change_hook_dialects
    cookie_expiration_time custom_templates_dir debug default_page graphql json_cache_seconds
    jsonp logfileName logRotateLength maxRotatedFiles plugins port project_widgets
    rest_minimum_version theme ui_default_config versions ws_ping_interval
    """.split()
)

# message-queue types and the keys each accepts besides 'type'
MQ_KEYS = {
    "simple": frozenset({"debug"}),
    "wamp": frozenset({"router_url", "realm", "wamp_debug_level"}),
}

LOG_COMPRESSION_METHODS = ("raw", "gz", "bz2", "lz4", "zstd", "br")

MAX_TITLE_LENGTH = 18

# worker names: identifiers (letters, digits, '_' and '-', not starting with a digit)
_WORKERNAME_RE = re.compile("^[a-zA-Z\u00a0-\U0010ffff_-][a-zA-Z0-9\u00a0-\U0010ffff_-]*$")
RESERVED_WORKER_NAMES = ("debug", "change", "status")
MAX_WORKERNAME_LENGTH = 50


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _got(v: Any) -> str:
    return f"(got {type(v).__name__})"


class KeyLoader:
    """Loads the keys of `config_dict` into `cfg`."""

    def __init__(self, cfg: Any, config_dict: dict[str, Any], filename: str) -> None:
        self.cfg = cfg
        self.d = config_dict
        self.filename = filename
        self.failed: set[str] = set()

    def fail(self, key: str, msg: str) -> None:
        self.failed.add(key)
        error(msg)

    # -- helpers ---------------------------------------------------------------------

    def _copy(
        self,
        key: str,
        check: Callable[[Any], bool],
        expected: str,
        attr: str | None = None,
    ) -> bool:
        """Copy key to the attribute if None or `check(value)`; True if copied."""
        if key not in self.d:
            return False
        v = self.d[key]
        if v is not None and not check(v):
            self.fail(key, f"c['{key}'] must be {expected} {_got(v)}")
            return False
        setattr(self.cfg, attr or key, v)
        return True

    def _copy_callable(self, key: str, expected: str = "a callable") -> None:
        self._copy(key, callable, expected)

    def _list(self, key: str, what: str) -> list[Any] | None:
        """The key's value if it is a list (or tuple); None if absent or wrong."""
        v = self.d.get(key)
        if v is None:
            return None
        if not isinstance(v, (list, tuple)):
            self.fail(key, f"c['{key}'] must be a list of {what} {_got(v)}")
            return None
        return list(v)

    # -- keys --------------------------------------------------------------------------

    def load_global(self) -> None:
        cfg = self.cfg
        self._copy("title", lambda v: isinstance(v, str), "a string")
        if isinstance(cfg.title, str) and len(cfg.title) > MAX_TITLE_LENGTH:
            log.msg(f"c['title'] is longer than {MAX_TITLE_LENGTH} characters: the UI may cut it")
        for key in ("titleURL", "buildbotURL"):
            if self._copy(key, lambda v: isinstance(v, str), "a string"):
                url = getattr(cfg, key)
                if url and not url.endswith("/"):
                    setattr(cfg, key, url + "/")

        for key in ("changeHorizon", "logCompressionLimit", "logMaxSize", "logMaxTailSize"):
            self._copy(key, _is_int, "an integer")
        self._copy("logEncoding", lambda v: isinstance(v, str), "a string (an encoding name)")
        if "logCompressionMethod" in self.d:
            method = self.d["logCompressionMethod"]
            if method not in LOG_COMPRESSION_METHODS:
                choices = ", ".join(repr(m) for m in LOG_COMPRESSION_METHODS)
                self.fail(
                    "logCompressionMethod", f"c['logCompressionMethod'] must be one of {choices}"
                )
            else:
                cfg.logCompressionMethod = method

        self._copy("multiMaster", lambda v: isinstance(v, bool), "True or False")

        # accepted for compatibility; this master never sends usage data anywhere
        if "buildbotNetUsageData" in self.d:
            self._copy(
                "buildbotNetUsageData",
                lambda v: v in ("basic", "full") or callable(v),
                "None, 'basic', 'full' or a callable",
            )

        if "collapseRequests" in self.d:
            v = self.d["collapseRequests"]
            if v not in (None, True, False) and not callable(v):
                self.fail(
                    "collapseRequests", "c['collapseRequests'] must be a callable, True, or False"
                )
            else:
                cfg.collapseRequests = v
        self._copy_callable("codebaseGenerator", "a callable accepting a dict and returning a str")
        self._copy_callable("prioritizeBuilders")
        self._copy_callable("select_next_worker")
        if "revlink" in self.d:
            if not callable(self.d["revlink"]):
                self.fail("revlink", f"c['revlink'] must be a callable {_got(self.d['revlink'])}")
            else:
                cfg.revlink = self.d["revlink"]

        # not type-checked: the manhole classes need optional packages
        if "manhole" in self.d:
            cfg.manhole = self.d["manhole"]
        self._copy("metrics", lambda v: isinstance(v, dict), "a dictionary")

    def load_properties(self) -> None:
        props = self.d.get("properties")
        if props is None:
            return
        if not isinstance(props, dict):
            self.fail("properties", f"c['properties'] must be a dictionary {_got(props)}")
            return
        bad = [k for k in props if not isinstance(k, str)]
        if bad:
            self.fail("properties", f"c['properties'] names must be strings, not {bad!r}")
            return
        self.cfg.properties.update(props)

    def load_protocols(self) -> None:
        protocols = self.d.get("protocols")
        if protocols is None:
            return
        if not isinstance(protocols, dict):
            self.fail("protocols", f"c['protocols'] must be a dict {_got(protocols)}")
            return
        ok = True
        for proto, options in protocols.items():
            if not isinstance(proto, str):
                self.fail("protocols", f"c['protocols'] keys must be strings, not {proto!r}")
                ok = False
            elif not isinstance(options, dict):
                self.fail("protocols", f"c['protocols']['{proto}'] must be a dict {_got(options)}")
                ok = False
            elif options.get("port") is not None:
                port = options["port"]
                if not _is_int(port) and not isinstance(port, str):
                    msg = f"c['protocols']['{proto}']['port'] must be an int or an endpoint string"
                    self.fail("protocols", msg)
                    ok = False
        if ok:
            self.cfg.protocols = protocols

    def load_validation(self) -> None:
        validation = self.d.get("validation")
        if validation is None:
            return
        if not isinstance(validation, dict):
            self.fail("validation", f"c['validation'] must be a dictionary {_got(validation)}")
            return
        unknown = sorted(set(validation) - set(self.cfg.validation))
        if unknown:
            self.fail(
                "validation", f"unrecognized validation key(s): {', '.join(map(str, unknown))}"
            )
            return
        for key, regex in validation.items():
            if not isinstance(regex, re.Pattern):
                self.fail("validation", f"c['validation']['{key}'] must be a compiled regex")
                return
        self.cfg.validation.update(validation)

    def load_db(self) -> None:
        if "db" in self.d:
            db = self.d["db"]
            if not isinstance(db, dict):
                self.fail("db", f"c['db'] must be a dictionary {_got(db)}")
                return
            unknown = sorted(set(db) - {"db_url", "engine_kwargs"})
            if unknown:
                self.fail("db", f"unrecognized keys in c['db']: {', '.join(map(str, unknown))}")
                return
            key = "db"
        elif "db_url" in self.d:
            db = {"db_url": self.d["db_url"]}
            key = "db_url"
        else:
            return
        url = db.get("db_url", self.cfg.db["db_url"])
        if not isinstance(url, str) and not interfaces.IRenderable.providedBy(url):
            self.fail(key, f"c['{key}'] db_url must be a string or a renderable {_got(url)}")
            return
        kwargs = db.get("engine_kwargs") or {}
        if not isinstance(kwargs, dict):
            self.fail(key, f"c['db']['engine_kwargs'] must be a dictionary {_got(kwargs)}")
            return
        self.cfg.db = {"db_url": url, "engine_kwargs": kwargs}

    def load_mq(self) -> None:
        mq = self.d.get("mq")
        if mq is None:
            return
        if not isinstance(mq, dict):
            self.fail("mq", f"c['mq'] must be a dictionary {_got(mq)}")
            return
        merged = {**self.cfg.mq, **mq}
        typ = merged.get("type")
        if typ not in MQ_KEYS:
            self.fail("mq", f"mq type '{typ}' is not known (known: {', '.join(MQ_KEYS)})")
            return
        unknown = sorted(set(merged) - MQ_KEYS[typ] - {"type"})
        if unknown:
            self.fail("mq", f"unrecognized keys in c['mq']: {', '.join(map(str, unknown))}")
            return
        if typ == "wamp":
            # refused at load time, not at start: checkconfig must say so too
            self.fail("mq", "mq type 'wamp' is not supported yet; use {'type': 'simple'}")
            return
        self.cfg.mq = merged

    def load_caches(self) -> None:
        caches = self.d.get("caches")
        if caches is not None:
            if not isinstance(caches, dict):
                self.fail("caches", f"c['caches'] must be a dictionary {_got(caches)}")
                caches = None
            else:
                for name, size in caches.items():
                    if not _is_int(size):
                        self.fail("caches", f"value for cache size '{name}' must be an integer")
                        return
                    if size < 1:
                        self.fail("caches", f"'{name}' cache size must be at least 1, got '{size}'")
                        return
                self.cfg.caches.update(caches)
        for key, name in (("buildCacheSize", "Builds"), ("changeCacheSize", "Changes")):
            if key not in self.d:
                continue
            if "caches" in self.d:
                self.fail(key, f"cannot specify c['caches'] and c['{key}']")
            elif not _is_int(self.d[key]) or self.d[key] < 1:
                self.fail(key, f"c['{key}'] must be a positive integer {_got(self.d[key])}")
            else:
                self.cfg.caches[name] = self.d[key]

    def load_secrets(self) -> None:
        providers = self._list("secretsProviders", "secret providers")
        if providers is None:
            return
        for p in providers:
            if not isinstance(p, service.BuildbotService):
                msg = f"c['secretsProviders']: {p!r} is not a secret provider"
                self.fail("secretsProviders", msg)
                return
        names = [p.name for p in providers]
        for name in sorted({n for n in names if names.count(n) > 1}):
            msg = (
                f"c['secretsProviders']: two providers are named {name!r}; give each "
                "its own name (name='...')"
            )
            self.fail("secretsProviders", msg)
            return
        self.cfg.secretsProviders = providers

    def load_schedulers(self) -> None:
        schedulers = self._list("schedulers", "schedulers")
        if schedulers is None:
            return
        result: dict[str, Any] = {}
        for s in schedulers:
            if not interfaces.IScheduler.providedBy(s):
                self.fail("schedulers", f"c['schedulers']: {s!r} is not a scheduler")
                continue
            if s.name in result:
                self.fail("schedulers", f"scheduler name '{s.name}' used multiple times")
                continue
            result[s.name] = s
        self.cfg.schedulers = result

    def load_builders(self) -> None:
        from buildbot.config.builder import BuilderConfig

        builders = self._list("builders", "BuilderConfig")
        if builders is None:
            return
        result = []
        for b in builders:
            if isinstance(b, dict):
                try:
                    b = BuilderConfig(**b)
                except TypeError as e:
                    self.fail("builders", f"c['builders']: bad builder dict: {e}")
                    continue
            if not isinstance(b, BuilderConfig):
                self.fail("builders", f"c['builders']: {b!r} is not a builder config")
                continue
            if b.builddir.startswith("/"):
                log.msg(f"builder '{b.name}': absolute builddir {b.builddir!r}")
            result.append(b)
        self.cfg.builders = result

    def load_workers(self) -> None:
        workers = self._list("workers", "Worker instances")
        if workers is None:
            return
        for w in workers:
            if not interfaces.IWorker.providedBy(w):
                self.fail("workers", f"c['workers']: {w!r} is not a Worker instance")
                return
            name = w.workername
            problems = []
            if not isinstance(name, str) or not name:
                problems.append(f"worker name {name!r} must be a non-empty string")
            else:
                if name in RESERVED_WORKER_NAMES:
                    problems.append(f"worker name '{name}' is reserved")
                if not _WORKERNAME_RE.match(name):
                    problems.append(f"worker name '{name}' is not an identifier")
                if len(name) > MAX_WORKERNAME_LENGTH:
                    problems.append(
                        f"worker name '{name}' is longer than {MAX_WORKERNAME_LENGTH} characters"
                    )
            for msg in problems:
                self.fail("workers", msg)
            if problems:
                return
        self.cfg.workers = workers

    def load_change_sources(self) -> None:
        sources = self.d.get("change_source")
        if sources is None:
            return
        if not isinstance(sources, (list, tuple)):
            sources = [sources]
        for s in sources:
            if not interfaces.IChangeSource.providedBy(s):
                self.fail("change_source", f"c['change_source']: {s!r} is not a change source")
                return
        self.cfg.change_sources = list(sources)

    def load_machines(self) -> None:
        machines = self._list("machines", "machines")
        if machines is None:
            return
        for m in machines:
            if not interfaces.IMachine.providedBy(m):
                self.fail("machines", f"c['machines']: {m!r} is not a machine")
                return
        self.cfg.machines = machines

    def _named_list(self, key: str, what: str) -> list[Any] | None:
        items = self._list(key, what)
        if items is None:
            return None
        for item in items:
            if not isinstance(getattr(item, "name", None), str):
                self.fail(key, f"c['{key}']: {item!r} is not one of {what}")
                return None
        return items

    def load_projects(self) -> None:
        projects = self._named_list("projects", "util.Project")
        if projects is not None:
            self.cfg.projects = projects

    def load_codebases(self) -> None:
        codebases = self._named_list("codebases", "util.Codebase")
        if codebases is not None:
            self.cfg.codebases = codebases

    def load_user_managers(self) -> None:
        managers = self._list("user_managers", "user managers")
        if managers is not None:
            self.cfg.user_managers = managers

    def load_www(self) -> None:
        www = self.d.get("www")
        if www is None:
            return
        if not isinstance(www, dict):
            self.fail("www", f"c['www'] must be a dictionary {_got(www)}")
            return
        unknown = sorted(str(k) for k in set(www) - WWW_KEYS)
        if unknown:
            self.fail("www", f"unknown www configuration parameter(s) {', '.join(unknown)}")
        checks: list[tuple[str, Callable[[Any], bool], str]] = [
            ("port", lambda v: _is_int(v) or isinstance(v, str), "an int or an endpoint string"),
            ("change_hook_dialects", lambda v: isinstance(v, dict), "a dictionary"),
            ("cookie_expiration_time", _is_positive_timedelta, "a positive datetime.timedelta"),
            ("auth", _is_www_auth, "an auth object (e.g. util.UserPasswordAuth(...))"),
            ("authz", _is_www_authz, "a util.Authz object"),
            ("json_cache_seconds", _is_int, "an integer"),
            ("rest_minimum_version", _is_int, "an integer"),
            ("ws_ping_interval", _is_int, "an integer"),
            ("allowed_origins", lambda v: isinstance(v, list), "a list"),
            ("change_hook_auth", lambda v: isinstance(v, list), "a list"),
        ]
        for key, check, expected in checks:
            v = www.get(key)
            if v is not None and not check(v):
                self.fail("www", f"c['www']['{key}'] must be {expected} {_got(v)}")
        basedir = os.path.dirname(os.path.abspath(self.filename))
        for msg in www_checks.check_ui_keys(www, basedir):
            self.fail("www", msg)
        if "www" not in self.failed:
            self.cfg.www.update(www)

    def load_services(self) -> None:
        services = self._list("services", "BuildbotService instances")
        if services is None:
            return
        result: dict[str, Any] = {}
        for s in services:
            if not isinstance(s, service.BuildbotService):
                msg = (
                    f"c['services']: {type(s).__name__} object should be an instance of "
                    "buildbot.util.service.BuildbotService"
                )
                self.fail("services", msg)
                continue
            if s.name in result:
                self.fail("services", f"duplicate service name {s.name!r}")
                continue
            result[s.name] = s
        self.cfg.services = result


def run_configurators(config_dict: dict[str, Any]) -> None:
    """Let each of c['configurators'] modify the config dict, in order."""
    configurators = config_dict.get("configurators")
    if configurators is None:
        return
    if not isinstance(configurators, (list, tuple)):
        error(f"c['configurators'] must be a list {_got(configurators)}")
        return
    for c in configurators:
        if not callable(getattr(c, "configure", None)):
            error(f"c['configurators']: {c!r} is not a configurator")
            continue
        c.configure(config_dict)


# duck-typed, so that loading a config does not import the web layer
def _is_www_auth(v: Any) -> bool:
    return callable(getattr(v, "getLoginResource", None)) and callable(
        getattr(v, "maybeAutoLogin", None)
    )


def _is_www_authz(v: Any) -> bool:
    return callable(getattr(v, "assertUserAllowed", None))


def _is_positive_timedelta(v: Any) -> bool:
    return isinstance(v, datetime.timedelta) and v.total_seconds() > 0
