"""REST conformance: the same master.cfg for the real Buildbot 4.3 and for ours, the list
of requests that both masters answer, and the comparison of two answers by shape.

Shape rule (what must be equal between the two answers of one request):

* the HTTP status code;
* the top-level keys of the JSON body;
* recursively, for every object its key set and for every list its length, then each
  element by position (the two masters ran the same builds in the same order);
* for every value its JSON type (object, array, string, number, boolean, null), where
  integers and floats both count as "number" only when the field is a float on one side
  (a ``bool`` is never a number);
* a null on one side and a non-null value on the other is a mismatch, except under the
  keys of ``NULL_MAY_DIFFER`` (values that legitimately differ between two masters, such
  as what each worker program reports about itself);
* the bodies of the objects under ``FREE_OBJECTS`` (e.g. build properties, whose set of
  names depends on what each worker reports) are compared as "an object", not key by key;
* for error answers (status >= 400) the ``error`` text must be equal, except the texts
  that embed Python reprs of the reference's internals (``not found while getting from``
  and 500 answers), where only the status and the shape are compared.

Requests are written as templates with ``{name}`` placeholders; each master fills them with
its own ids (found by names through its own API), so the test never relies on both
masters numbering things alike.
"""

from __future__ import annotations

import json
from typing import Any

WORKER, PASSWORD = "w1", "w1-secret"
OFFLINE_WORKER = "w-offline"

MASTER_CFG = """\
import datetime

from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['title'] = 'conformance'
c['buildbotURL'] = 'http://127.0.0.1:{www_port}/'
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{pb_port}:interface=127.0.0.1'}}}}
c['workers'] = [
    worker.Worker({worker!r}, {password!r}),
    worker.Worker({offline!r}, 'never-connects'),
]
c['collapseRequests'] = False
c['www'] = {{'port': 'tcp:{www_port}:interface=127.0.0.1', 'plugins': {{}},
            'change_hook_dialects': {{'base': True}},
            'cookie_expiration_time': datetime.timedelta(hours=1),
            'ui_default_config': {{'Builders.buildFetchLimit': 201}}}}

def shell(name, *argv, **kwargs):
    return steps.ShellCommand(name=name, command=list(argv), usePTY=False, **kwargs)

c['builders'] = [
    util.BuilderConfig(
        name='alpha', workernames=[{worker!r}], tags=['fast', 'ok'],
        description='the passing one',
        factory=util.BuildFactory([
            shell('greet', 'echo', 'hello'),
            shell('again', 'echo', 'second'),
        ])),
    util.BuilderConfig(
        name='beta', workernames=[{worker!r}], tags=['fast'],
        factory=util.BuildFactory([
            shell('greet', 'echo', 'hello'),
            shell('fail', 'false'),
            shell('skipped', 'false', doStepIf=False),
        ])),
    util.BuilderConfig(
        name='parent', workernames=[{worker!r}],
        factory=util.BuildFactory([
            steps.Trigger(name='trigger', schedulerNames=['child-trigger'],
                          waitForFinish=True),
        ])),
    util.BuilderConfig(
        name='child', workernames=[{worker!r}],
        factory=util.BuildFactory([shell('greet', 'echo', 'child')])),
    util.BuilderConfig(
        name='pending', workernames=[{offline!r}],
        factory=util.BuildFactory([shell('greet', 'echo', 'never')])),
]
c['schedulers'] = [
    schedulers.ForceScheduler(
        name='force', builderNames=['alpha', 'beta', 'parent', 'pending'],
        properties=[util.StringParameter(name='note', default='n', maxsize=10),
                    util.IntParameter(name='count', default=1)]),
    schedulers.Triggerable(name='child-trigger', builderNames=['child']),
]
"""


def master_cfg(www_port: int, pb_port: int) -> str:
    return MASTER_CFG.format(
        www_port=www_port, pb_port=pb_port, worker=WORKER, password=PASSWORD,
        offline=OFFLINE_WORKER,
    )  # fmt: skip


# ---- the requests --------------------------------------------------------------------

# read paths (under /api/v2) with placeholders filled per master by `fill`
READS: list[str] = [
    "",
    "/",
    "/application.spec",
    "/nosuchthing",
    "/builds/",
    # builders
    "/builders",
    "/builders/{alpha}",
    "/builders/alpha",
    "/builders/999999",
    "/builders/nosuch",
    "/masters/{masterid}/builders",
    "/masters/{masterid}/builders/{alpha}",
    "/workers/{workerid}/builders",
    "/builders?tags__contains=ok",
    "/builders?name=alpha&name=beta",
    "/builders?order=-name&limit=2&offset=1",
    "/builders?field=name&field=builderid",
    "/builders?order=nosuch",
    "/builders?field=nosuch",
    "/builders?limit=x",
    "/builders?offset=x",
    "/builders?nosuch=1",
    "/builders?builderid=x",
    "/builders?name__nosuchop=1",
    "/builders?field=name&order=builderid",
    "/builders?field=name&builderid=1",
    "/builders/{alpha}?name=alpha",
    "/builders/{alpha}?field=name",
    # builds
    "/builds",
    "/builds?limit=1",
    "/builds?order=-buildid&limit=2",
    "/builds?complete=true",
    "/builds?complete=maybe",
    "/builds?results=2",
    "/builds?results__ne=2",
    "/builds?buildid__gt={alpha_build}",
    "/builds?property=*",
    "/builds?property=buildername",
    "/builds/{alpha_build}",
    "/builds/{alpha_build}?property=*",
    "/builds/999999",
    "/builders/{alpha}/builds",
    "/builders/alpha/builds",
    "/builders/nosuch/builds",
    "/builders/{alpha}/builds/1",
    "/builders/alpha/builds/1",
    "/builders/{alpha}/builds/99",
    "/buildrequests/{alpha_brid}/builds",
    "/workers/{workerid}/builds",
    "/builds/{parent_build}/triggered_builds",
    "/builds/{alpha_build}/changes",
    "/builders/{alpha}/builds/1/changes",
    # build properties and data
    "/builds/{alpha_build}/properties",
    "/builders/{alpha}/builds/1/properties",
    "/builds/{alpha_build}/property_list",
    "/builds/{alpha_build}/data",
    "/builders/{alpha}/builds/1/data",
    "/builds/{alpha_build}/data/nosuch",
    # steps
    "/builds/{alpha_build}/steps",
    "/builds/{alpha_build}/steps?order=-number",
    "/builds/{alpha_build}/steps?complete=true&field=name",
    "/builders/{alpha}/builds/1/steps",
    "/builders/alpha/builds/1/steps",
    "/steps/{greet_step}",
    "/steps/999999",
    "/builds/{alpha_build}/steps/greet",
    "/builds/{alpha_build}/steps/1",
    "/builds/{alpha_build}/steps/nosuch",
    "/builders/{alpha}/builds/1/steps/greet",
    "/builders/alpha/builds/1/steps/1",
    "/builds/{beta_build}/steps",
    # logs
    "/steps/{greet_step}/logs",
    "/steps/{greet_step}/logs/stdio",
    "/steps/{greet_step}/logs/nosuch",
    "/logs/{stdio_log}",
    "/logs/999999",
    "/builds/{alpha_build}/steps/greet/logs",
    "/builds/{alpha_build}/steps/1/logs/stdio",
    "/builders/{alpha}/builds/1/steps/greet/logs",
    "/builders/alpha/builds/1/steps/1/logs/stdio",
    # log contents
    "/logs/{stdio_log}/contents",
    "/logs/{stdio_log}/contents?offset=1&limit=2",
    "/logs/{stdio_log}/contents?offset=1000",
    "/logs/{stdio_log}/contents?offset=1000&limit=5",
    "/logchunks",
    "/steps/{greet_step}/logs/stdio/contents",
    "/builds/{alpha_build}/steps/greet/logs/stdio/contents",
    "/builders/{alpha}/builds/1/steps/1/logs/stdio/contents",
    # build requests
    "/buildrequests",
    "/buildrequests?complete=false",
    "/buildrequests?claimed=true",
    "/buildrequests?buildsetid={alpha_bsid}",
    "/buildrequests?property=*",
    "/buildrequests/{alpha_brid}",
    "/buildrequests/{alpha_brid}?property=*",
    "/buildrequests/{pending_brid}",
    "/buildrequests/999999",
    "/builders/{alpha}/buildrequests",
    # buildsets
    "/buildsets",
    "/buildsets?complete=true",
    "/buildsets/{alpha_bsid}",
    "/buildsets/999999",
    "/buildsets/{alpha_bsid}/properties",
    "/buildsets/{alpha_bsid}/properties_list",
    # sourcestamps
    "/sourcestamps",
    "/sourcestamps/{ssid}",
    "/sourcestamps/999999",
    "/buildsets/{alpha_bsid}/sourcestamps",
    "/buildsets/nosuch/sourcestamps",
    "/sourcestamps/{ssid}/changes",
    # changes
    "/changes",
    "/changes?limit=1&order=-changeid",
    "/changes/{changeid}",
    "/changes/999999",
    "/changes/{changeid}/builds",
    "/changes/{changeid}/properties_list",
    # masters
    "/masters",
    "/masters/{masterid}",
    "/masters/999999",
    "/builders/{alpha}/masters",
    "/builders/{alpha}/masters/{masterid}",
    # workers
    "/workers",
    "/workers?paused=false",
    "/workers?graceful=maybe",
    "/workers/{workerid}",
    "/workers/w1",
    "/workers/999999",
    "/workers/nosuch",
    "/masters/{masterid}/workers",
    "/masters/{masterid}/workers/{workerid}",
    "/masters/{masterid}/workers/w1",
    "/masters/{masterid}/builders/{alpha}/workers",
    "/masters/{masterid}/builders/{alpha}/workers/{workerid}",
    "/builders/{alpha}/workers",
    "/builders/{alpha}/workers/w1",
    # schedulers, change sources, force schedulers
    "/schedulers",
    "/schedulers/{schedulerid}",
    "/schedulers/999999",
    "/masters/{masterid}/schedulers",
    "/masters/{masterid}/schedulers/{schedulerid}",
    "/changesources",
    "/changesources/999999",
    "/masters/{masterid}/changesources",
    "/forceschedulers",
    "/forceschedulers/force",
    "/forceschedulers/nosuch",
    "/builders/{alpha}/forceschedulers",
    # projects, codebases
    "/projects",
    "/projects/999999",
    "/projects/nosuch",
    "/codebases",
    "/codebases/999999",
    "/branches/999999",
    "/commits/999999",
    # test results
    "/test_result_sets",
    "/test_result_sets/999999",
    "/builders/{alpha}/test_result_sets",
    "/builds/{alpha_build}/test_result_sets",
    "/steps/{greet_step}/test_result_sets",
    "/test_result_sets/999999/results",
]

# control calls: (path, method, params); the JSON-RPC envelope is added by `rpc_body`
CONTROLS: list[tuple[str, str, dict[str, Any]]] = [
    ("/builds/{alpha_build}", "nosuch", {}),
    ("/workers/{workerid}", "nosuch", {}),
    ("/forceschedulers/nosuch", "force", {}),
    ("/forceschedulers/force", "force", {"builderNames": ["child"]}),
    ("/forceschedulers/force", "force", {"builderid": 999999}),
    ("/forceschedulers/force", "force", {"builderNames": ["alpha"], "count": "x"}),
    ("/forceschedulers/force", "force", {"builderNames": ["alpha"], "note": "far too long"}),
    ("/nosuchthing", "force", {}),
    ("/buildrequests/{alpha_brid}", "nosuch", {}),
    ("/buildrequests/{pending_brid}", "set_priority", {}),
    ("/schedulers/{schedulerid}", "enable", {}),
    ("/schedulers/{schedulerid}", "nosuch", {}),
    ("/buildrequests/{pending_brid}", "cancel", {"reason": "conformance"}),
    ("/buildrequests/{pending_brid}", "nosuch", {}),
    ("/workers/{offline_workerid}", "pause", {"reason": "conformance"}),
    ("/workers/{offline_workerid}", "unpause", {}),
    ("/builds/{alpha_build}", "stop", {"reason": "already finished"}),
]

# raw (non-JSON) POST bodies sent to the force scheduler: (label, content type, body)
BAD_RPC: list[tuple[str, str, bytes]] = [
    ("wrong content type", "text/plain", b"{}"),
    ("not json", "application/json", b"{nope"),
    ("batch", "application/json", b"[]"),
    ("missing id", "application/json", b'{"jsonrpc": "2.0", "method": "force", "params": {}}'),
    (
        "bad version",
        "application/json",
        b'{"jsonrpc": "1.0", "method": "force", "params": {}, "id": 1}',
    ),  # fmt: skip
    (
        "params not object",
        "application/json",
        b'{"jsonrpc": "2.0", "method": "force", "params": [], "id": 1}',
    ),  # fmt: skip
]


# requests outside /api/v2: (path, what is compared besides the status code)
#   "json"      the body, by the shape rule;
#   "location"  the redirect target, with the master's own base URL, the query and the
#               fragment left out (e.g. `//www.gravatar.com/avatar/<md5 of the email>`);
#   "html"      the media type of the answer (each master serves its own UI);
#   "status"    nothing more.
# They are sent after all the others: a bare `GET /change_hook/base` makes a change on 4.3.
ROOTS: list[tuple[str, str]] = [
    ("/api", "json"),
    ("/config", "json"),
    ("/", "html"),
    ("/avatar?email=a@b.c&size=32", "location"),
    ("/avatar", "location"),
    ("/avatar?username=nosuch", "location"),
    ("/auth/login", "status"),
    ("/auth/logout", "location"),
    ("/plugins/nope/x", "status"),
    ("/change_hook/nosuch", "status"),
    ("/change_hook/base", "status"),
]


def root_answer(
    kind: str, base: str, status: int, headers: dict[str, str], body: bytes
) -> tuple[int, Any]:
    """The (status, value to compare) of an answer to one of `ROOTS`; `base` is the
    master's own `http://host:port`."""
    if kind == "json":
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode("utf-8", "replace")
    if kind == "location":
        location = headers.get("location")
        if location is not None:
            location = location.replace(base, "{base}").split("#")[0].split("?")[0]
        return status, location
    if kind == "html":
        return status, headers.get("content-type", "").split(";")[0].strip().lower()
    return status, None


def compare_roots(kind: str, ref: tuple[int, Any], ours: tuple[int, Any]) -> list[str]:
    if kind == "json":
        return compare_answers(ref, ours)
    (sr, vr), (so, vo) = ref, ours
    if sr != so:
        return [f"status {sr} (4.3) != {so} (ours)"]
    if vr != vo:
        return [f"{kind} {vr!r} (4.3) != {vo!r} (ours)"]
    return []


def rpc_body(method: str, params: dict[str, Any], ident: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": ident}).encode()


def fill(template: str, ids: dict[str, Any]) -> str:
    return template.format(**ids)


# Differences known and explained: (substring of the request label, substring of the
# difference) -> why. Each is either a deliberate choice of ours (the spec's "intended"
# behaviour where the reference has a bug) or a bug of ours owned outside the REST layer.
# They are reported (in the test log) but do not fail the test; any other difference does.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    (
        "/changes/{changeid}/properties_list",
        "status 500 (4.3) != 200",
    ): "the reference fails on this path (spec §5); we serve the change's properties",
    (
        "set_priority",
        "status 500 (4.3) != 200",
    ): "the reference fails under SQLAlchemy 2 (spec §6); we update the priority",
    (
        "GET /config",
        "cookie_expiration_time: type string",
    ): "4.3 cannot serialise the timedelta and sends the string "
    "\"'datetime.timedelta' not yet IConfigured\"; we send its seconds",
    (
        "GET /auth/login",
        "status 500 (4.3) != 501",
    ): "4.3's NoAuth has no login page: NotImplementedError, an HTML 'Processing Failed' "
    "500; we answer 501 with a JSON error",
    (
        "GET /change_hook/base",
        "status 200 (4.3) != 400",
    ): "4.3's base hook makes a change with an empty author, comments and files from a "
    "bare GET; we refuse a change without an author (400)",
}


def known(label: str, diff: str) -> str | None:
    """Why this difference is accepted, or None."""
    for (in_label, in_diff), why in KNOWN_DIFFERENCES.items():
        if in_label in label + diff and in_diff in diff:
            return why
    return None


# ---- the comparison ------------------------------------------------------------------

# keys whose values may be null on one side only (both masters report something
# different there for good reasons)
NULL_MAY_DIFFER: set[str] = set()

# keys whose object values are compared as "an object" only
FREE_OBJECTS: set[str] = {"properties", "workerinfo"}

# keys whose arrays are compared by position: their names legitimately differ (masters
# are named after host and base directory) or repeat (force-scheduler field groups)
POSITIONAL: set[str] = {"masters", "all_fields", "fields"}

# error texts that embed reprs of the reference's internals: compared by prefix
ERROR_PREFIXES = ("not found while getting from",)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def compare_shape(ref: Any, ours: Any, where: str = "$", key: str = "") -> list[str]:
    """The differences of shape between the reference's value and ours (empty if none)."""
    tr, to = json_type(ref), json_type(ours)
    if tr != to:
        if "null" in (tr, to) and key in NULL_MAY_DIFFER:
            return []
        if {tr, to} == {"integer", "number"}:
            return []
        return [f"{where}: type {tr} (4.3: {_short(ref)}) != ours {to} ({_short(ours)})"]
    if tr == "object":
        if key in FREE_OBJECTS:
            return []
        diffs = []
        only_ref, only_ours = sorted(set(ref) - set(ours)), sorted(set(ours) - set(ref))
        if only_ref or only_ours:
            diffs.append(f"{where}: keys only in 4.3 {only_ref}, only in ours {only_ours}")
        for k in sorted(set(ref) & set(ours)):
            diffs += compare_shape(ref[k], ours[k], f"{where}.{k}", k)
        return diffs
    if tr == "array":
        key_name = None if key in POSITIONAL else _identity_key(ref + ours)
        if key_name is not None:
            # align by name: the two masters may number (and so order) things apart
            by_name = {e[key_name]: e for e in ours}
            names_ref = [e[key_name] for e in ref]
            if len(by_name) != len(ours) or len(set(names_ref)) != len(ref):
                key_name = None  # names repeat: compare by position
            elif set(by_name) != set(names_ref):
                return [
                    f"{where}: {key_name} {name!r} only in {side}"
                    for side, names in (("4.3", set(names_ref) - set(by_name)),
                                        ("ours", set(by_name) - set(names_ref)))
                    for name in sorted(names)
                ]  # fmt: skip
            else:
                ours = [by_name[name] for name in names_ref]
        if len(ref) != len(ours):
            return [f"{where}: length {len(ref)} (4.3) != {len(ours)} (ours)"]
        diffs = []
        for i, (r, o) in enumerate(zip(ref, ours, strict=True)):
            label = f"[{r[key_name]!r}]" if key_name else f"[{i}]"
            diffs += compare_shape(r, o, f"{where}{label}", key)
        return diffs
    return []


def compare_answers(ref: tuple[int, Any], ours: tuple[int, Any]) -> list[str]:
    """Compare two (status, decoded body) answers of the same request."""
    (sr, br), (so, bo) = ref, ours
    diffs = []
    if sr != so:
        diffs.append(f"status {sr} (4.3) != {so} (ours): {_short(br, 200)} / {_short(bo, 200)}")
        return diffs
    if sr >= 400 and sr == so and isinstance(br, dict) and isinstance(bo, dict):
        er, eo = _error_text(br), _error_text(bo)
        if er != eo and not _loosely_equal(sr, er, eo):
            diffs.append(f"error {er!r} (4.3) != {eo!r} (ours)")
    diffs += compare_shape(br, bo)
    return diffs


def _error_text(body: dict[str, Any]) -> Any:
    err = body.get("error")
    if isinstance(err, dict):  # JSON-RPC
        return (err.get("code"), err.get("message"))
    return err


def _loosely_equal(status: int, ref: Any, ours: Any) -> bool:
    if status == 500:
        return True
    if isinstance(ref, tuple) and isinstance(ours, tuple):
        return ref[0] == ours[0] and _loosely_equal(status, ref[1], ours[1])
    if isinstance(ref, str) and isinstance(ours, str):
        return any(ref.startswith(p) and ours.startswith(p) for p in ERROR_PREFIXES)
    return False


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


IDENTITY_KEYS = ("path", "name")


def _identity_key(items: list[Any]) -> str | None:
    for key in IDENTITY_KEYS:
        if items and all(isinstance(e, dict) and isinstance(e.get(key), str) for e in items):
            return key
    return None
