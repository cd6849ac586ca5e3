"""``master.pbmanager``: the Perspective Broker listeners that workers (and other PB
clients) log in to.

One listening port serves every registration made on it; a registration is a
`(port, username)` pair with a password and a callback that makes the avatar
(the per-connection "perspective") once the password checks out. Login is
Twisted's challenge/response, through a portal whose checker and realm look the
user up among the registrations of that port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.cred import checkers, credentials, error, portal
from twisted.internet import defer, endpoints
from twisted.python import log
from twisted.spread import pb
from zope.interface import implementer

from buildbot import interfaces
from buildbot.util import service

#: (mind, username) -> the avatar (or a Deferred of it); the avatar has `detached(mind)`
AvatarFactory = Callable[[Any, str], Any]


def port_to_endpoint(port: int | str) -> str:
    """An int (or a string of digits) means a TCP port on every interface."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return f"tcp:{int(port)}"
    return port


class Registration:
    """What `PBManager.register` returns: `unregister()` takes the user off the port."""

    def __init__(self, manager: PBManager, portstr: str, username: str) -> None:
        self.manager = manager
        self.portstr = portstr
        self.username = username

    def __repr__(self) -> str:
        return f"<pbmanager.Registration {self.username!r} on {self.portstr!r}>"

    def unregister(self) -> defer.Deferred[None]:
        return self.manager._unregister(self)

    def getPort(self) -> int | None:
        """The port number actually listened on (useful with port 0)."""
        dispatcher = self.manager.dispatchers.get(self.portstr)
        return dispatcher.getPort() if dispatcher is not None else None


async def _render_password(password: Any, master: Any) -> bytes:
    if interfaces.IRenderable.providedBy(password):
        # e.g. util.Secret('workerpass'): rendered with the master, for its secrets
        from buildbot.process.properties import Properties

        props = Properties()
        props.master = master
        password = await props.render(password)
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not isinstance(password, bytes):
        raise TypeError(f"a password must be a string, not {type(password).__name__}")
    return password


@implementer(portal.IRealm, checkers.ICredentialsChecker)
class Dispatcher(service.AsyncService):
    """One listening port: its registrations, checker and realm."""

    credentialInterfaces = [credentials.IUsernameHashedPassword]

    def __init__(self, portstr: str) -> None:
        self.portstr = portstr
        self.users: dict[str, tuple[Any, AvatarFactory]] = {}
        self.port: Any = None
        self.portal = portal.Portal(self, [self])
        self.factory = pb.PBServerFactory(self.portal)
        self.factory.unsafeTracebacks = False

    def __repr__(self) -> str:
        return f"<pbmanager.Dispatcher for {', '.join(self.users) or 'nobody'} on {self.portstr}>"

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

    # ICredentialsChecker

    def requestAvatarId(self, creds: Any) -> defer.Deferred[bytes]:
        return defer.ensureDeferred(self._check(creds))

    async def _check(self, creds: Any) -> bytes:
        username = _text(creds.username)
        entry = self.users.get(username)
        if entry is None:
            log.msg(f"pbmanager: login refused for unknown user {username!r} on {self.portstr}")
            raise error.UnauthorizedLogin()
        password = await _render_password(entry[0], self.master)
        if not await defer.maybeDeferred(creds.checkPassword, password):
            log.msg(f"pbmanager: login refused for {username!r} on {self.portstr}: bad password")
            raise error.UnauthorizedLogin()
        return creds.username

    # IRealm

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces_: Any) -> defer.Deferred:
        if pb.IPerspective not in interfaces_:
            raise NotImplementedError("only PB perspectives are served")
        return defer.ensureDeferred(self._avatar(_text(avatarId), mind))

    async def _avatar(self, username: str, mind: Any) -> tuple[Any, Any, Any]:
        entry = self.users.get(username)
        if entry is None:  # unregistered during the login
            raise error.UnauthorizedLogin()
        try:
            avatar = await defer.maybeDeferred(entry[1], mind, username)
        except Exception:
            log.err(None, f"pbmanager: while attaching {username!r}")
            raise
        if avatar is None:
            raise error.UnauthorizedLogin()
        # PB calls this once when the connection goes (or the client logs out)
        return pb.IPerspective, avatar, lambda: avatar.detached(mind)


class PBManager(service.AsyncMultiService):
    """Listens on the ports that registrations name; one Dispatcher per port."""

    name = "pbmanager"  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.dispatchers: dict[str, Dispatcher] = {}

    def register(
        self, portstr: int | str, username: str, password: Any, pfactory: AvatarFactory
    ) -> Registration:
        """Let `username` log in on `portstr`; `pfactory(mind, username)` makes its avatar.

        The port starts listening (if it is new) when the manager runs; a second
        registration of the same user on the same port is an error.
        """
        portstr = port_to_endpoint(portstr)
        dispatcher = self.dispatchers.get(portstr)
        if dispatcher is None:
            dispatcher = self.dispatchers[portstr] = Dispatcher(portstr)
            d = dispatcher.setServiceParent(self)
            d.addErrback(log.err, f"pbmanager: cannot listen on {portstr!r}")
        if username in dispatcher.users:
            raise KeyError(f"user {username!r} is already registered on {portstr!r}")
        dispatcher.users[username] = (password, pfactory)
        return Registration(self, portstr, username)

    def getDispatcher(self, portstr: int | str) -> Dispatcher | None:
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


def _text(name: Any) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
