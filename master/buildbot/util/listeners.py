"""Ports on which registered users log in: one listener per port, shared by every
user registered on it (the PB manager and the msgpack worker transport).

A registration is a ``(port, username)`` pair with a password and a factory that
makes the per-connection object once the password checks out. The port listens
while it has registrations and closes when the last one goes.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, endpoints
from twisted.python import log

from buildbot import interfaces
from buildbot.util import service


def port_to_endpoint(port: int | str) -> str:
    """An int (or a string of digits) means a TCP port on every interface."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return f"tcp:{int(port)}"
    return port


async def render_password(password: Any, master: Any) -> str:
    """The password as text; a renderable (``util.Secret('x')``) is rendered with the
    master, for its secrets."""
    if interfaces.IRenderable.providedBy(password):
        from buildbot.process.properties import Properties

        props = Properties()
        props.master = master
        password = await props.render(password)
    if isinstance(password, bytes):
        password = password.decode("utf-8")
    if not isinstance(password, str):
        raise TypeError(f"a password must be a string, not {type(password).__name__}")
    return password


class Registration:
    """What `ListenerManager.register` returns: `unregister()` takes the user off the
    port."""

    def __init__(self, manager: ListenerManager, portstr: str, username: str) -> None:
        self.manager = manager
        self.portstr = portstr
        self.username = username

    def __repr__(self) -> str:
        return f"<{self.manager.label}.Registration {self.username!r} on {self.portstr!r}>"

    def unregister(self) -> defer.Deferred[None]:
        return self.manager._unregister(self)

    def getPort(self) -> int | None:
        """The port number actually listened on (useful with port 0)."""
        dispatcher = self.manager.dispatchers.get(self.portstr)
        return dispatcher.getPort() if dispatcher is not None else None


class PortDispatcher(service.AsyncService):
    """One listening port and the users registered on it; subclasses set `factory`
    (the protocol factory the port serves) and check the users' credentials."""

    label = "listener"

    def __init__(self, portstr: str) -> None:
        self.portstr = portstr
        self.users: dict[str, tuple[Any, Any]] = {}
        self.port: Any = None
        self.factory: Any = None

    def __repr__(self) -> str:
        users = ", ".join(self.users) or "nobody"
        return f"<{self.label}.Dispatcher for {users} on {self.portstr}>"

    def getPort(self) -> int | None:
        return self.port.getHost().port if self.port is not None else None

    def startService(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._start())

    async def _start(self) -> None:
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        endpoint = endpoints.serverFromString(reactor, self.portstr)
        self.port = await endpoint.listen(self.factory)
        service.AsyncService.startService(self)

    def stopService(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._stop())

    async def _stop(self) -> None:
        service.AsyncService.stopService(self)
        if self.port is not None:
            port, self.port = self.port, None
            await port.stopListening()


class ListenerManager(service.AsyncMultiService):
    """Listens on the ports that registrations name; one `dispatcher_class` per port."""

    label = "listener"
    dispatcher_class: type[PortDispatcher] = PortDispatcher

    def __init__(self) -> None:
        super().__init__()
        self.dispatchers: dict[str, Any] = {}

    def register(self, portstr: int | str, username: str, password: Any, factory: Any):
        """Let `username` log in on `portstr`; `factory` makes its connection object.

        The port starts listening (if it is new) when the manager runs; a second
        registration of the same user on the same port is an error.
        """
        portstr = port_to_endpoint(portstr)
        dispatcher = self.dispatchers.get(portstr)
        if dispatcher is None:
            dispatcher = self.dispatchers[portstr] = self.dispatcher_class(portstr)
            d = dispatcher.setServiceParent(self)
            d.addErrback(log.err, f"{self.label}: cannot listen on {portstr!r}")
        if username in dispatcher.users:
            raise KeyError(f"user {username!r} is already registered on {portstr!r}")
        dispatcher.users[username] = (password, factory)
        return Registration(self, portstr, username)

    def getDispatcher(self, portstr: int | str) -> Any:
        return self.dispatchers.get(port_to_endpoint(portstr))

    def _unregister(self, registration: Registration) -> defer.Deferred[None]:
        dispatcher = self.dispatchers.get(registration.portstr)
        if dispatcher is None:
            return defer.succeed(None)
        dispatcher.users.pop(registration.username, None)
        if dispatcher.users:
            return defer.succeed(None)
        del self.dispatchers[registration.portstr]
        return defer.maybeDeferred(dispatcher.disownServiceParent)
