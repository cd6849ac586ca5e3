"""Interfaces that configuration objects and plugins declare.

The configuration loader checks the objects of a master.cfg by these
interfaces rather than by class, so that any plugin that declares them is
accepted. Names follow Buildbot, as user code imports them.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IPlugin(Interface):
    """Something that may be named in a `buildbot.plugins` namespace."""


class IConfigured(Interface):
    def getConfigDict() -> dict:
        """A dict describing this object's configuration (for the web UI)."""


class IRenderable(Interface):
    """A value computed per build from its properties."""

    def getRenderingFor(iprops):
        """The rendered value, or a Deferred firing with it."""


class IProperties(Interface):
    """A set of build properties, each with a value and a source."""

    def getProperty(name, default=None):
        """The value of property `name`, or `default`."""

    def setProperty(name, value, source, runtime=False):
        """Set property `name` from `source`."""

    def hasProperty(name):
        """Is property `name` set?"""

    def render(value):
        """Render `value` against these properties; returns a Deferred."""


class IChangeSource(IPlugin):
    """Produces changes (a poller, a listener...)."""


class IScheduler(IPlugin):
    """Creates buildsets for builders."""

    name = Attribute("the scheduler's unique name")

    def listBuilderNames():
        """The names of the builders this scheduler may trigger."""


class ITriggerableScheduler(IScheduler):
    """A scheduler that `steps.Trigger` can fire."""

    def trigger(
        waited_for, sourcestamps=None, set_props=None, parent_buildid=None, parent_relationship=None
    ):
        """Create a buildset; returns (ids, Deferred of the results)."""


class IWorker(IPlugin):
    """A worker definition in `c['workers']`."""

    workername = Attribute("the worker's unique name")


class ILatentWorker(IWorker):
    """A worker started on demand."""


class IMachine(Interface):
    """A power-managed machine that workers may run on."""

    name = Attribute("the machine's unique name")


class IMachineAction(Interface):
    def perform(manager):
        """Do the action; returns a Deferred firing with True on success."""


class IConfigurator(Interface):
    """Modifies the BuildmasterConfig dict before it is loaded."""

    def configure(config_dict):
        """Alter `config_dict` in place."""


class IBuildStep(IPlugin):
    """A step of a running build."""


class IBuildStepFactory(Interface):
    """What a BuildFactory holds: builds a fresh step for each build."""

    def buildStep():
        """A new step instance."""


class ILogObserver(Interface):
    """Follows the output of a step's log."""


class IStatusReceiver(IPlugin):
    """A reporter."""


class IReportGenerator(Interface):
    """Turns events into reports for a reporter."""


class IEmailLookup(Interface):
    def getAddress(user):
        """The email address of `user`, or a Deferred firing with it."""


class ILockAccess(Interface):
    """The use of a lock (its id, mode and count) by a build or step."""


class IUsageDataCollector(Interface):
    """Sends anonymous usage data."""
