"""MasterConfig, the checked content of master.cfg, and FileLoader, which runs the file.

All problems are collected and raised together as one `ConfigErrors`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import traceback
from types import TracebackType
from typing import Any

from twisted.python import log

from buildbot.config import checks
from buildbot.config.errors import ConfigErrors, capture_config_errors, error
from buildbot.config.keys import KeyLoader, run_configurators
from buildbot.util import ComparableMixin

DEFAULT_DB_URL = "sqlite:///state.sqlite"

# every key BuildmasterConfig may hold
KNOWN_KEYS = frozenset(
    {
        "buildbotNetUsageData",
        "buildbotURL",
        "buildCacheSize",
        "builders",
        "caches",
        "change_source",
        "changeCacheSize",
        "changeHorizon",
        "codebaseGenerator",
        "codebases",
        "collapseRequests",
        "configurators",
        "db",
        "db_url",
        "logCompressionLimit",
        "logCompressionMethod",
        "logEncoding",
        "logMaxSize",
        "logMaxTailSize",
        "machines",
        "manhole",
        "metrics",
        "mq",
        "multiMaster",
        "prioritizeBuilders",
        "projects",
        "properties",
        "protocols",
        "revlink",
        "schedulers",
        "secretsProviders",
        "select_next_worker",
        "services",
        "title",
        "titleURL",
        "user_managers",
        "validation",
        "workers",
        "www",
    }
)


def default_log_compression_method() -> str:
    return "zstd" if importlib.util.find_spec("zstandard") is not None else "gz"


class MasterConfig(ComparableMixin):
    """The master's configuration; a fresh instance holds the defaults."""

    compare_attrs = (
        "title",
        "titleURL",
        "buildbotURL",
        "changeHorizon",
        "logCompressionLimit",
        "logCompressionMethod",
        "logEncoding",
        "logMaxSize",
        "logMaxTailSize",
        "properties",
        "collapseRequests",
        "codebaseGenerator",
        "prioritizeBuilders",
        "select_next_worker",
        "multiMaster",
        "manhole",
        "protocols",
        "buildbotNetUsageData",
        "validation",
        "db",
        "mq",
        "metrics",
        "caches",
        "schedulers",
        "secretsProviders",
        "builders",
        "workers",
        "change_sources",
        "machines",
        "projects",
        "codebases",
        "user_managers",
        "revlink",
        "www",
        "services",
    )

    def __init__(self) -> None:
        self.title = "Buildbot"
        self.titleURL = "http://buildbot.net/"
        self.buildbotURL = "http://localhost:8080/"
        self.changeHorizon: int | None = None
        self.logCompressionLimit = 4 * 1024
        self.logCompressionMethod = default_log_compression_method()
        self.logEncoding = "utf-8"
        self.logMaxSize: int | None = None
        self.logMaxTailSize: int | None = None
        # global build properties: name -> value (their source is the config file)
        self.properties: dict[str, Any] = {}
        self.collapseRequests: Any = None
        self.codebaseGenerator: Any = None
        self.prioritizeBuilders: Any = None
        self.select_next_worker: Any = None
        self.multiMaster = False
        self.manhole: Any = None
        self.protocols: dict[str, dict[str, Any]] = {}
        self.buildbotNetUsageData: Any = "basic"
        self.validation: dict[str, re.Pattern[str]] = {
            "branch": re.compile(r"^[\w.+/~-]*$"),
            "revision": re.compile(r"^[ \w\.\-/]*$"),
            "property_name": re.compile(r"^[\w\.\-/~:]*$"),
            "property_value": re.compile(r"^[\w\.\-/~:]*$"),
        }
        self.db: dict[str, Any] = {"db_url": DEFAULT_DB_URL, "engine_kwargs": {}}
        self.mq: dict[str, Any] = {"type": "simple"}
        self.metrics: dict[str, Any] | None = None
        self.caches: dict[str, int] = {"Builds": 15, "Changes": 10}
        self.schedulers: dict[str, Any] = {}
        self.secretsProviders: list[Any] = []
        self.builders: list[Any] = []
        self.workers: list[Any] = []
        self.change_sources: list[Any] = []
        self.machines: list[Any] = []
        self.projects: list[Any] = []
        self.codebases: list[Any] = []
        self.user_managers: list[Any] = []
        # None: the built-in matcher of well-known hosting sites
        self.revlink: Any = None
        # auth, authz and avatar_methods default in the web server when absent
        self.www: dict[str, Any] = {"port": None, "plugins": {}, "logfileName": "http.log"}
        self.services: dict[str, Any] = {}

    @classmethod
    def loadFromDict(cls, config_dict: dict[str, Any], filename: str) -> MasterConfig:
        """A MasterConfig from a BuildmasterConfig dict; raises ConfigErrors with
        every problem found."""
        with capture_config_errors(raise_on_error=True):
            unknown = sorted(str(k) for k in set(config_dict) - KNOWN_KEYS)
            if len(unknown) == 1:
                error(f"Unknown BuildmasterConfig key {unknown[0]}")
            elif unknown:
                error(f"Unknown BuildmasterConfig keys {', '.join(unknown)}")

            cfg = cls()
            _guarded("configurators", run_configurators, config_dict)
            loader = KeyLoader(cfg, config_dict, filename)
            steps = (
                ("", loader.load_global),
                ("properties", loader.load_properties),
                ("protocols", loader.load_protocols),
                ("validation", loader.load_validation),
                ("db", loader.load_db),
                ("mq", loader.load_mq),
                ("caches", loader.load_caches),
                ("secretsProviders", loader.load_secrets),
                ("schedulers", loader.load_schedulers),
                ("projects", loader.load_projects),
                ("codebases", loader.load_codebases),
                ("builders", loader.load_builders),
                ("workers", loader.load_workers),
                ("change_source", loader.load_change_sources),
                ("machines", loader.load_machines),
                ("user_managers", loader.load_user_managers),
                ("www", loader.load_www),
                ("services", loader.load_services),
            )
            for key, step in steps:
                if not _guarded(key, step):
                    loader.failed.add(key)
            for check in checks.ALL_CHECKS:
                _guarded("", check, cfg, loader.failed)
        return cfg


def _guarded(key: str, fn: Any, *args: Any) -> bool:
    """Run one loading step; an unexpected exception becomes an error naming the key,
    so that the other keys are still checked."""
    try:
        fn(*args)
    except ConfigErrors as e:
        for msg in e.errors:
            error(msg)
        return False
    except Exception as e:
        where = f"c['{key}']" if key else "configuration"
        error(f"error while checking {where}: {type(e).__name__}: {e}")
        return False
    return True


def _location_in(filename: str, tb: TracebackType | None) -> tuple[int | None, str | None]:
    """The line of the innermost frame of `tb` that runs `filename`, and, if the
    error was raised elsewhere, where."""
    line = None
    elsewhere = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == filename:
            line = lineno
            elsewhere = None
        else:
            elsewhere = f"{frame.f_code.co_filename}, line {lineno}"
    return line, elsewhere


def execute_config_file(basedir: str, filename: str) -> dict[str, Any]:
    """Run the config file with `basedir` on sys.path; its globals."""
    with open(filename, "rb") as f:
        source = f.read()
    namespace: dict[str, Any] = {
        "basedir": os.path.expanduser(basedir),
        "__file__": filename,
    }
    old_path = sys.path[:]
    sys.path.append(basedir)
    try:
        try:
            code = compile(source, filename, "exec")
        except SyntaxError as e:
            msg = f"encountered a SyntaxError while parsing config file {filename}, line {e.lineno}"
            raise ConfigErrors([f"{msg}: {e.msg}"]) from None
        try:
            exec(code, namespace)
        except ConfigErrors:
            raise
        except (Exception, SystemExit) as e:
            line, elsewhere = _location_in(filename, e.__traceback__)
            where = f"{filename}, line {line}" if line is not None else filename
            if elsewhere:
                where += f" (raised in {elsewhere})"
            log.msg(f"error while parsing config file {filename}:\n{traceback.format_exc()}")
            msg = f"error while parsing config file {where}: {type(e).__name__}: {e}"
            raise ConfigErrors([msg]) from None
    finally:
        sys.path[:] = old_path
    return namespace


def loadConfigDict(basedir: str, configFileName: str) -> tuple[str, dict[str, Any]]:
    """Run the config file; (its absolute path, its BuildmasterConfig dict)."""
    if not os.path.isdir(basedir):
        raise ConfigErrors([f"basedir '{basedir}' does not exist"])
    filename = os.path.abspath(os.path.join(basedir, configFileName))
    if not os.path.exists(filename):
        raise ConfigErrors([f"configuration file '{filename}' does not exist"])
    try:
        with open(filename, "rb"):
            pass
    except OSError as e:
        raise ConfigErrors([f"unable to open configuration file '{filename}': {e}"]) from None
    log.msg(f"Loading configuration from '{filename}'")
    namespace = execute_config_file(basedir, filename)
    if "BuildmasterConfig" not in namespace:
        raise ConfigErrors([f"Configuration file '{filename}' does not define 'BuildmasterConfig'"])
    config_dict = namespace["BuildmasterConfig"]
    if not isinstance(config_dict, dict):
        raise ConfigErrors(
            [f"BuildmasterConfig in '{filename}' must be a dict, not {type(config_dict).__name__}"]
        )
    return filename, config_dict


class FileLoader(ComparableMixin):
    """Loads the configuration from `configFileName` in `basedir`."""

    compare_attrs = ("basedir", "configFileName")

    def __init__(self, basedir: str, configFileName: str) -> None:
        self.basedir = basedir
        self.configFileName = configFileName

    def loadConfig(self) -> MasterConfig:
        """The checked configuration; raises ConfigErrors listing every problem.

        Runs the file synchronously: call it from a thread in a running master.
        """
        with capture_config_errors(raise_on_error=True):
            filename, config_dict = loadConfigDict(self.basedir, self.configFileName)
            cfg = MasterConfig.loadFromDict(config_dict, filename)
        return cfg
