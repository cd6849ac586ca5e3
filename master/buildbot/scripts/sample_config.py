"""The master.cfg.sample that `buildbot create-master` writes: a small, complete setup."""

from __future__ import annotations

# `{db_url}` is filled in; every other brace is doubled.
SAMPLE_TEMPLATE = """\
# -*- python -*-
# ex: set filetype=python:

# A starting point for this master's configuration. Copy it to master.cfg and
# adapt it: `buildbot checkconfig` tells whether the result is valid, and
# `buildbot reconfig` makes a running master read it again.

from buildbot.plugins import schedulers, steps, util, worker

# The master reads the dictionary named BuildmasterConfig; `c` is a short alias.
c = BuildmasterConfig = {{}}

####### WORKERS

# The machines that run the builds. This one runs inside the master process
# itself, which is handy to try things out; real workers are usually
# worker.Worker("name", "password") on other machines, started with
# `buildbot-worker create-worker`.
c['workers'] = [worker.LocalWorker("example-worker")]

# Where remote workers connect. Keep this port in line with the workers'
# buildbot.tac files.
c['protocols'] = {{'pb': {{'port': 9989}}}}

####### CHANGE SOURCES

# Where news of commits comes from (pollers, web hooks...). None yet: builds
# are started by hand from the web page.
c['change_source'] = []

####### BUILD FACTORIES AND BUILDERS

# A factory is the list of steps a build runs, in order.
factory = util.BuildFactory()
factory.addStep(steps.ShellCommand(name="hello", command=["echo", "hello from buildbot"]))

c['builders'] = [
    util.BuilderConfig(name="example", workernames=["example-worker"], factory=factory),
]

####### SCHEDULERS

# Schedulers decide when builds start. This one adds a "force" button to the
# builder's web page.
c['schedulers'] = [
    schedulers.ForceScheduler(name="force", builderNames=["example"]),
]

####### REPORTERS AND OTHER SERVICES

c['services'] = []

####### PROJECT IDENTITY

c['title'] = "Example"
c['titleURL'] = "https://example.org/"

# The address users type to reach the web interface; links in the UI and in
# reports are built from it.
c['buildbotURL'] = "http://localhost:8010/"

####### WEB SERVER

c['www'] = {{'port': 8010, 'plugins': {{}}}}

####### DATABASE

# Where the master keeps its state. A relative SQLite path is relative to the
# master's directory; for a busy master, use PostgreSQL or MySQL instead, e.g.
# "postgresql://user:password@host/dbname".
c['db'] = {{'db_url': {db_url!r}}}

# Anonymous usage statistics sent to the Buildbot project: None turns them off.
c['buildbotNetUsageData'] = None
"""


def sample_config(db_url: str) -> str:
    return SAMPLE_TEMPLATE.format(db_url=db_url)
