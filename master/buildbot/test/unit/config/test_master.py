from __future__ import annotations

import datetime
import re
from typing import Any

from twisted.trial import unittest

from buildbot.config.builder import BuilderConfig
from buildbot.config.errors import ConfigErrors, capture_config_errors
from buildbot.config.master import KNOWN_KEYS, MasterConfig
from buildbot.locks import MasterLock, WorkerLock
from buildbot.process.factory import BuildFactory
from buildbot.test.unit.config.configfakes import (
    FakeChangeSource,
    FakeCodebase,
    FakeMachine,
    FakeProject,
    FakeRenderable,
    FakeScheduler,
    FakeWorker,
    minimal_config,
)
from buildbot.util import service


class NamedService(service.BuildbotService):
    pass


def builder(name: str, **kw: Any) -> BuilderConfig:
    kw.setdefault("workernames", ["w1"])
    return BuilderConfig(name=name, factory=BuildFactory(), **kw)


class LoadMixin:
    def load(self, config_dict: dict[str, Any]) -> MasterConfig:
        return MasterConfig.loadFromDict(config_dict, "master.cfg")

    def errors_of(self, config_dict: dict[str, Any]) -> list[str]:
        with self.assertRaises(ConfigErrors) as cm:
            self.load(config_dict)
        return cm.exception.errors

    def assertOneError(self, config_dict: dict[str, Any], *fragments: str) -> str:
        errors = self.errors_of(config_dict)
        self.assertEqual(len(errors), 1, errors)
        for fragment in fragments:
            self.assertIn(fragment, errors[0])
        return errors[0]


class TestDefaults(unittest.TestCase):
    def test_defaults(self):
        cfg = MasterConfig()
        self.assertEqual(cfg.title, "Buildbot")
        self.assertEqual(cfg.titleURL, "http://buildbot.net/")
        self.assertEqual(cfg.buildbotURL, "http://localhost:8080/")
        self.assertEqual(cfg.db, {"db_url": "sqlite:///state.sqlite", "engine_kwargs": {}})
        self.assertEqual(cfg.mq, {"type": "simple"})
        self.assertEqual(cfg.caches, {"Builds": 15, "Changes": 10})
        self.assertEqual(cfg.www["port"], None)
        self.assertEqual(cfg.logEncoding, "utf-8")
        self.assertIn(cfg.logCompressionMethod, ("zstd", "gz"))
        self.assertEqual(cfg.logCompressionLimit, 4096)
        self.assertEqual(cfg.buildbotNetUsageData, "basic")
        self.assertFalse(cfg.multiMaster)
        self.assertEqual(
            (cfg.workers, cfg.builders, cfg.change_sources, cfg.secretsProviders),
            ([], [], [], []),
        )
        self.assertEqual((cfg.schedulers, cfg.services, cfg.protocols), ({}, {}, {}))
        self.assertIsNone(cfg.collapseRequests)
        self.assertIsNone(cfg.changeHorizon)
        self.assertTrue(cfg.validation["branch"].match("feature/x-1.2"))
        self.assertFalse(cfg.validation["branch"].match("bad branch"))
        self.assertTrue(cfg.validation["revision"].match("abc 123"))
        self.assertFalse(cfg.validation["property_name"].match("a b"))

    def test_known_keys_are_those_of_the_spec(self):
        self.assertEqual(len(KNOWN_KEYS), 39)
        for key in ("db_url", "buildCacheSize", "changeCacheSize", "configurators", "codebases"):
            self.assertIn(key, KNOWN_KEYS)


class TestLoadFromDict(LoadMixin, unittest.TestCase):
    def test_minimal(self):
        cfg = self.load(minimal_config())
        self.assertEqual([b.name for b in cfg.builders], ["b1"])
        self.assertEqual(list(cfg.schedulers), ["s1"])
        self.assertEqual([w.workername for w in cfg.workers], ["w1"])

    def test_unknown_key(self):
        self.assertOneError(minimal_config(bogus=1), "Unknown BuildmasterConfig key bogus")

    def test_unknown_keys(self):
        msg = self.assertOneError(minimal_config(zed=1, alpha=2), "Unknown BuildmasterConfig keys")
        self.assertIn("alpha, zed", msg)

    def test_wrong_types_name_key_and_type(self):
        cases: list[tuple[str, Any, str]] = [
            ("title", 1, "c['title'] must be a string"),
            ("titleURL", [], "c['titleURL'] must be a string"),
            ("buildbotURL", 3, "c['buildbotURL'] must be a string"),
            ("changeHorizon", "10", "c['changeHorizon'] must be an integer"),
            ("logCompressionLimit", 1.5, "c['logCompressionLimit'] must be an integer"),
            ("logMaxSize", "big", "c['logMaxSize'] must be an integer"),
            ("logMaxTailSize", True, "c['logMaxTailSize'] must be an integer"),
            ("logEncoding", 8, "c['logEncoding'] must be a string"),
            ("logCompressionMethod", "zip", "c['logCompressionMethod'] must be one of"),
            ("multiMaster", "yes", "c['multiMaster'] must be True or False"),
            ("buildbotNetUsageData", "most", "c['buildbotNetUsageData'] must be None, 'basic'"),
            ("collapseRequests", "x", "collapseRequests'] must be a callable, True, or False"),
            ("codebaseGenerator", 1, "c['codebaseGenerator'] must be a callable"),
            ("prioritizeBuilders", 1, "c['prioritizeBuilders'] must be a callable"),
            ("select_next_worker", 1, "c['select_next_worker'] must be a callable"),
            ("revlink", "http://x", "c['revlink'] must be a callable"),
            ("metrics", [], "c['metrics'] must be a dictionary"),
            ("properties", [1], "c['properties'] must be a dictionary"),
            ("protocols", [], "c['protocols'] must be a dict"),
            ("validation", [], "c['validation'] must be a dictionary"),
            ("db", "sqlite://", "c['db'] must be a dictionary"),
            ("db_url", 5, "c['db_url'] db_url must be a string or a renderable"),
            ("mq", "simple", "c['mq'] must be a dictionary"),
            ("caches", 5, "c['caches'] must be a dictionary"),
            ("buildCacheSize", "x", "c['buildCacheSize'] must be a positive integer"),
            ("changeCacheSize", 0, "c['changeCacheSize'] must be a positive integer"),
            ("secretsProviders", {}, "c['secretsProviders'] must be a list"),
            ("schedulers", FakeScheduler("s1", ["b1"]), "c['schedulers'] must be a list"),
            ("builders", "b1", "c['builders'] must be a list"),
            ("workers", FakeWorker("w1"), "c['workers'] must be a list"),
            ("change_source", [object()], "c['change_source']: "),
            ("machines", "m", "c['machines'] must be a list"),
            ("projects", "p", "c['projects'] must be a list"),
            ("codebases", "c", "c['codebases'] must be a list"),
            ("user_managers", 1, "c['user_managers'] must be a list"),
            ("www", [], "c['www'] must be a dictionary"),
            ("services", NamedService(), "c['services'] must be a list"),
            ("configurators", 1, "c['configurators'] must be a list"),
        ]
        checked = {key for key, _, _ in cases}
        # every key with a type is covered (manhole is deliberately not type-checked)
        self.assertEqual(KNOWN_KEYS - checked, {"manhole"})
        mismatches = []
        for key, value, fragment in cases:
            try:
                self.load(minimal_config(**{key: value}))
            except ConfigErrors as e:
                if not any(fragment in msg for msg in e.errors):
                    mismatches.append((key, e.errors))
            else:
                mismatches.append((key, "no error"))
        self.assertEqual(mismatches, [])

    def test_wrong_type_message_says_what_was_given(self):
        self.assertOneError(minimal_config(title=42), "(got int)")

    def test_errors_are_collected_together(self):
        errors = self.errors_of(minimal_config(title=1, bogus=2, changeHorizon="x"))
        self.assertEqual(len(errors), 3, errors)

    def test_good_values(self):
        def collapse(master, builder, r1, r2):
            return True

        cfg = self.load(
            minimal_config(
                title="My CI",
                titleURL="http://example.com",
                buildbotURL="http://ci.example.com:8010",
                changeHorizon=100,
                logCompressionMethod="bz2",
                logEncoding="latin-1",
                multiMaster=True,
                buildbotNetUsageData=None,
                collapseRequests=collapse,
                properties={"a": 1},
                manhole=object,
                metrics={"log_interval": 10},
            )
        )
        self.assertEqual(cfg.title, "My CI")
        self.assertEqual(cfg.titleURL, "http://example.com/")
        self.assertEqual(cfg.buildbotURL, "http://ci.example.com:8010/")
        self.assertEqual(cfg.changeHorizon, 100)
        self.assertEqual(cfg.logCompressionMethod, "bz2")
        self.assertEqual(cfg.logEncoding, "latin-1")
        self.assertTrue(cfg.multiMaster)
        self.assertIsNone(cfg.buildbotNetUsageData)
        self.assertIs(cfg.collapseRequests, collapse)
        self.assertEqual(cfg.properties, {"a": 1})
        self.assertIs(cfg.manhole, object)
        self.assertEqual(cfg.metrics, {"log_interval": 10})

    def test_db(self):
        cfg = self.load(minimal_config(db={"db_url": "postgresql://u@h/db"}))
        self.assertEqual(cfg.db, {"db_url": "postgresql://u@h/db", "engine_kwargs": {}})
        cfg = self.load(minimal_config(db={"engine_kwargs": {"pool_size": 3}}))
        self.assertEqual(
            cfg.db, {"db_url": "sqlite:///state.sqlite", "engine_kwargs": {"pool_size": 3}}
        )
        secret = FakeRenderable("sqlite://")
        self.assertIs(self.load(minimal_config(db={"db_url": secret})).db["db_url"], secret)

    def test_legacy_db_url(self):
        cfg = self.load(minimal_config(db_url="sqlite:///other.sqlite"))
        self.assertEqual(cfg.db["db_url"], "sqlite:///other.sqlite")

    def test_db_bad_keys(self):
        self.assertOneError(minimal_config(db={"url": "x"}), "unrecognized keys in c['db']: url")
        self.assertOneError(minimal_config(db={"engine_kwargs": 1}), "engine_kwargs")

    def test_mq(self):
        self.assertOneError(
            minimal_config(mq={"type": "wamp", "router_url": "ws://x", "realm": "r"}),
            "mq type 'wamp' is not supported yet",
        )
        self.assertEqual(self.load(minimal_config(mq={"debug": True})).mq["debug"], True)
        self.assertOneError(minimal_config(mq={"type": "kafka"}), "mq type 'kafka' is not known")
        self.assertOneError(minimal_config(mq={"realm": "r"}), "unrecognized keys in c['mq']")

    def test_caches(self):
        cfg = self.load(minimal_config(caches={"Builds": 50, "BuildRequests": 7}))
        self.assertEqual(cfg.caches, {"Builds": 50, "Changes": 10, "BuildRequests": 7})
        self.assertOneError(minimal_config(caches={"Builds": "x"}), "'Builds' must be an integer")
        self.assertOneError(minimal_config(caches={"Builds": 0}), "at least 1")

    def test_legacy_cache_sizes(self):
        cfg = self.load(minimal_config(buildCacheSize=3, changeCacheSize=4))
        self.assertEqual(cfg.caches, {"Builds": 3, "Changes": 4})
        self.assertOneError(
            minimal_config(caches={}, buildCacheSize=3), "cannot specify c['caches'] and"
        )

    def test_validation(self):
        branch = re.compile("^main$")
        cfg = self.load(minimal_config(validation={"branch": branch}))
        self.assertIs(cfg.validation["branch"], branch)
        self.assertIn("revision", cfg.validation)
        self.assertOneError(
            minimal_config(validation={"author": branch}), "unrecognized validation key(s): author"
        )
        self.assertOneError(minimal_config(validation={"branch": "x"}), "compiled regex")

    def test_protocols(self):
        self.assertOneError(minimal_config(protocols={1: {}}), "keys must be strings")
        self.assertOneError(minimal_config(protocols={"pb": 9989}), "c['protocols']['pb']")
        self.assertOneError(
            minimal_config(protocols={"pb": {"port": 1.5}}), "['port'] must be an int or"
        )
        cfg = self.load(minimal_config(protocols={"pb": {"port": "tcp:9989"}}))
        self.assertEqual(cfg.protocols, {"pb": {"port": "tcp:9989"}})

    def test_duplicate_ports(self):
        self.assertOneError(
            minimal_config(protocols={"pb": {"port": 9989}, "msgpack": {"port": "tcp:9989"}}),
            "used more than once",
        )

    def test_workers_need_protocols(self):
        self.assertOneError(minimal_config(protocols={}), "c['protocols'] not")
        self.load(minimal_config(protocols={"null": {}}))

    def test_www(self):
        cfg = self.load(minimal_config(www={"port": 8010, "plugins": {"waterfall_view": {}}}))
        self.assertEqual(cfg.www["port"], 8010)
        self.assertEqual(cfg.www["plugins"], {"waterfall_view": {}})
        self.assertEqual(cfg.www["logfileName"], "http.log")
        self.assertOneError(minimal_config(www={"prot": 1}), "parameter(s) prot")
        self.assertOneError(minimal_config(www={"port": 1.0}), "c['www']['port']")
        self.assertOneError(minimal_config(www={"versions": ["x"]}), "c['www']['versions']")
        self.assertOneError(minimal_config(www={"cookie_expiration_time": 3600}), "timedelta")
        cfg = self.load(minimal_config(www={"cookie_expiration_time": datetime.timedelta(1)}))
        self.assertEqual(cfg.www["cookie_expiration_time"], datetime.timedelta(1))

    def test_builders_from_dicts(self):
        cfg = self.load(
            minimal_config(builders=[{"name": "b1", "workername": "w1", "factory": BuildFactory()}])
        )
        self.assertIsInstance(cfg.builders[0], BuilderConfig)
        self.assertEqual(cfg.builders[0].workernames, ["w1"])
        msg = self.errors_of(minimal_config(builders=[{"name": "b1", "colour": "red"}]))
        self.assertTrue(any("colour" in m for m in msg), msg)

    def test_builder_not_a_builder(self):
        self.assertIn(
            "is not a builder config", " ".join(self.errors_of(minimal_config(builders=[1])))
        )

    def test_worker_names_checked(self):
        for name, fragment in [
            ("debug", "is reserved"),
            ("1abc", "not an identifier"),
            ("has space", "not an identifier"),
            ("x" * 51, "longer than 50"),
            ("", "non-empty"),
        ]:
            errors = self.errors_of(minimal_config(workers=[FakeWorker(name)]))
            self.assertIn(fragment, errors[0])

    def test_not_a_worker(self):
        errors = self.errors_of(minimal_config(workers=["w1"]))
        self.assertIn("is not a Worker instance", errors[0])
        # the builder's worker is not reported unknown as well
        self.assertEqual(len(errors), 1, errors)

    def test_change_sources(self):
        cs = FakeChangeSource("a")
        self.assertEqual(self.load(minimal_config(change_source=cs)).change_sources, [cs])
        cfg = self.load(minimal_config(change_source=[cs, FakeChangeSource("b")]))
        self.assertEqual(len(cfg.change_sources), 2)
        self.assertOneError(
            minimal_config(change_source=[cs, FakeChangeSource("a")]),
            "duplicate change source name 'a'",
        )

    def test_services(self):
        svc = NamedService(name="n1")
        cfg = self.load(minimal_config(services=[svc, NamedService(name="n2")]))
        self.assertEqual(sorted(cfg.services), ["n1", "n2"])
        self.assertIs(cfg.services["n1"], svc)
        self.assertOneError(
            minimal_config(services=[svc, NamedService(name="n1")]), "duplicate service name 'n1'"
        )
        self.assertOneError(minimal_config(services=[object()]), "BuildbotService")

    def test_secrets_providers(self):
        svc = NamedService(name="secrets")
        self.assertEqual(self.load(minimal_config(secretsProviders=[svc])).secretsProviders, [svc])
        self.assertOneError(minimal_config(secretsProviders=["x"]), "not a secret provider")

    def test_duplicate_scheduler_name(self):
        self.assertOneError(
            minimal_config(schedulers=[FakeScheduler("s1", ["b1"]), FakeScheduler("s1", ["b1"])]),
            "scheduler name 's1' used multiple times",
        )

    def test_not_a_scheduler(self):
        self.assertIn("is not a scheduler", self.errors_of(minimal_config(schedulers=[1]))[0])

    def test_configurators_run_first(self):
        class AddTitle:
            def configure(self, config_dict):
                config_dict["title"] = "configured"

        self.assertEqual(self.load(minimal_config(configurators=[AddTitle()])).title, "configured")
        self.assertOneError(minimal_config(configurators=[1]), "is not a configurator")

    def test_configurator_exception_is_an_error(self):
        class Broken:
            def configure(self, config_dict):
                raise RuntimeError("oops")

        self.assertOneError(
            minimal_config(configurators=[Broken()]), "c['configurators']", "RuntimeError: oops"
        )


class TestConsistency(LoadMixin, unittest.TestCase):
    def test_builder_with_unknown_worker(self):
        self.assertOneError(
            minimal_config(builders=[builder("b1", workernames=["w1", "w9"])]),
            "builder 'b1' uses unknown workers 'w9'",
        )

    def test_scheduler_with_unknown_builder(self):
        msg = self.assertOneError(
            minimal_config(schedulers=[FakeScheduler("s1", ["b1", "nope"])]),
            "Unknown builder 'nope' in scheduler 's1'",
        )
        self.assertNotIn("b1", msg)

    def test_builder_without_scheduler(self):
        self.assertOneError(
            minimal_config(builders=[builder("b1"), builder("b2")]),
            "builder(s) b2 have no schedulers to drive them",
        )

    def test_renderable_builder_names_skip_checks(self):
        self.load(minimal_config(schedulers=[FakeScheduler("s1", FakeRenderable(["x"]))]))
        self.load(
            minimal_config(
                builders=[builder("b1"), builder("b2")],
                schedulers=[FakeScheduler("s1", ["b1", FakeRenderable("b2")])],
            )
        )

    def test_no_workers_no_builders(self):
        errors = self.errors_of({})
        self.assertIn("no workers are configured", errors)
        self.assertIn("no builders are configured", errors)

    def test_multimaster_skips_single_master_checks(self):
        self.load({"multiMaster": True})
        self.load(minimal_config(multiMaster=True, schedulers=[FakeScheduler("s", ["other"])]))

    def test_duplicate_builder_name(self):
        errors = self.errors_of(
            minimal_config(builders=[builder("b1"), builder("b1", builddir="other")])
        )
        self.assertEqual(errors, ["duplicate builder name 'b1'"])

    def test_duplicate_builddir(self):
        self.assertOneError(
            minimal_config(
                builders=[builder("b1", builddir="d"), builder("b2", builddir="d")],
                schedulers=[FakeScheduler("s1", ["b1", "b2"])],
            ),
            "duplicate builder builddir 'd'",
        )

    def test_duplicate_worker_name(self):
        self.assertOneError(
            minimal_config(workers=[FakeWorker("w1"), FakeWorker("w1")]),
            "duplicate worker name 'w1'",
        )

    def test_locks_with_one_name_must_be_one_lock(self):
        ok = minimal_config(
            builders=[builder("b1", locks=[MasterLock("l").access("counting")])],
        )
        self.load(ok)
        self.assertOneError(
            minimal_config(
                builders=[
                    builder("b1", locks=[MasterLock("l").access("exclusive")]),
                    builder("b2", locks=[WorkerLock("l").access("exclusive")]),
                ],
                schedulers=[FakeScheduler("s1", ["b1", "b2"])],
            ),
            "Two locks share the same name, 'l'",
        )

    def test_projects_and_codebases(self):
        cfg = self.load(
            minimal_config(
                projects=[FakeProject("p")],
                codebases=[FakeCodebase("c", "p")],
                builders=[builder("b1", project="p")],
            )
        )
        self.assertEqual([p.name for p in cfg.projects], ["p"])
        self.assertOneError(
            minimal_config(builders=[builder("b1", project="nope")]),
            "builder 'b1' uses unknown project 'nope'",
        )
        self.assertOneError(
            minimal_config(projects=[FakeProject("p")], codebases=[FakeCodebase("c", "q")]),
            "codebase 'c' uses unknown project 'q'",
        )
        self.assertOneError(
            minimal_config(projects=[FakeProject("p"), FakeProject("p")]),
            "duplicate project name 'p'",
        )

    def test_machines(self):
        cfg = self.load(
            minimal_config(machines=[FakeMachine("m")], workers=[FakeWorker("w1", "m")])
        )
        self.assertEqual(len(cfg.machines), 1)
        self.assertOneError(
            minimal_config(workers=[FakeWorker("w1", "m")]), "uses unknown machine 'm'"
        )
        self.assertOneError(minimal_config(machines=["m"]), "is not a machine")

    def test_errors_from_constructors_and_keys_together(self):
        with self.assertRaises(ConfigErrors) as cm:
            with capture_config_errors(raise_on_error=True):
                bad = BuilderConfig(name="_hidden", workernames=["w1"], factory=BuildFactory())
                MasterConfig.loadFromDict(
                    minimal_config(builders=[bad], schedulers=[FakeScheduler("s", ["_hidden"])]),
                    "master.cfg",
                )
        self.assertEqual(len(cm.exception.errors), 1)
        self.assertIn("must not start with an underscore", cm.exception.errors[0])
