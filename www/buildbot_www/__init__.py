"""The base web UI of buildbot: the built single-page application in `static/`."""

from buildbot.www.plugin import Application

ep = Application(__package__, "Buildbot UI (base)")
