"""``master.pbmanager``: the Perspective Broker listeners that workers (and other PB
clients) log in to.

One listening port serves every registration made on it; a registration is a
`(port, username)` pair with a password and a callback that makes the avatar
(the per-connection "perspective") once the password checks out. Login is
Twisted's challenge/response, through a portal whose checker and realm look the
user up among the registrations of that port.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from twisted.cred import checkers, credentials, error, portal
from twisted.internet import defer
from twisted.python import log
from twisted.spread import pb
from zope.interface import implementer

from buildbot.util import listeners
from buildbot.util.listeners import Registration, port_to_endpoint  # noqa: F401 (public)

#: (mind, username) -> the avatar (or a Deferred of it); the avatar has `detached(mind)`
AvatarFactory = Callable[[Any, str], Any]


class LowLatencyBroker(pb.Broker):
    """A PB broker that neither holds back its own small writes nor its ACKs.

    A remote command is a chain of small request/answer messages. With Nagle's
    algorithm a small write waits for the ACK of the previous one, and the peer
    delays that ACK by up to 40 ms: each step of a build then cost ~70 ms of pure
    waiting. TCP_NODELAY stops our writes from waiting; TCP_QUICKACK (Linux, and
    the kernel clears it again, hence after each read) makes us ACK at once, so a
    worker that does not set TCP_NODELAY (buildbot-worker 4.3) is not held back.
    """

    _quickack = getattr(socket, "TCP_QUICKACK", None)

    def connectionMade(self) -> None:
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:
                pass
        super().connectionMade()

    def dataReceived(self, data: bytes) -> None:
        if self._quickack is not None:
            handle = getattr(self.transport, "getHandle", None)
            try:
                handle().setsockopt(socket.IPPROTO_TCP, self._quickack, 1)  # type: ignore[misc]
            except (OSError, TypeError, AttributeError):
                # not a TCP socket (a test transport): stop trying
                self._quickack = None
        super().dataReceived(data)


@implementer(portal.IRealm, checkers.ICredentialsChecker)
class Dispatcher(listeners.PortDispatcher):
    """One listening port: its registrations, checker and realm."""

    label = "pbmanager"

    credentialInterfaces = [credentials.IUsernameHashedPassword]

    def __init__(self, portstr: str) -> None:
        super().__init__(portstr)
        self.portal = portal.Portal(self, [self])
        self.factory = pb.PBServerFactory(self.portal)
        self.factory.protocol = LowLatencyBroker
        self.factory.unsafeTracebacks = False

    # ICredentialsChecker

    def requestAvatarId(self, creds: Any) -> defer.Deferred[bytes]:
        return defer.ensureDeferred(self._check(creds))

    async def _check(self, creds: Any) -> bytes:
        username = _text(creds.username)
        entry = self.users.get(username)
        if entry is None:
            log.msg(f"pbmanager: login refused for unknown user {username!r} on {self.portstr}")
            raise error.UnauthorizedLogin()
        password = (await listeners.render_password(entry[0], self.master)).encode("utf-8")
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
        if getattr(getattr(mind, "broker", None), "disconnected", False):
            # the client went away while it was being attached: there is no one to
            # send the perspective to (PB would fail serializing it on a dead broker)
            await defer.maybeDeferred(avatar.detached, mind)
            raise error.UnauthorizedLogin()
        # PB calls this once when the connection goes (or the client logs out)
        return pb.IPerspective, avatar, lambda: avatar.detached(mind)


class PBManager(listeners.ListenerManager):
    """Listens on the ports that registrations name; one Dispatcher per port.

    `register(portstr, username, password, pfactory)`: `pfactory(mind, username)`
    makes the avatar, which has `detached(mind)`.
    """

    name = "pbmanager"  # type: ignore[assignment]
    label = "pbmanager"
    dispatcher_class = Dispatcher


def _text(name: Any) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
