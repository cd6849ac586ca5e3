"""`util.Authz`: which user may do what through the web API.

A request is checked as (path tuple, action): the action is the HTTP method for a
read and the JSON-RPC method for a control. The allow rules are tried in order;
the first one whose endpoint matcher matches decides, unless it lets the scan go
on (`defaultDeny=False`) for users without its role.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from typing import Any

from buildbot.www.authz.roles import RolesFromOwner


def fnmatchStrMatcher(value: Any, pattern: Any) -> bool:
    return fnmatch.fnmatch(str(value), str(pattern))


def reStrMatcher(value: Any, pattern: Any) -> bool:
    return re.match(str(pattern), str(value)) is not None


class Forbidden(Exception):
    """The user lacks the role a rule requires (HTTP 403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Authz:
    def __init__(
        self,
        allowRules: Sequence[Any] | None = None,
        roleMatchers: Sequence[Any] | None = None,
        stringsMatcher: Callable[[Any, Any], bool] = fnmatchStrMatcher,
    ) -> None:
        self.allowRules = list(allowRules or [])
        self.roleMatchers = list(roleMatchers or [])
        self.match = stringsMatcher
        self.master: Any = None
        for rule in self.allowRules:
            rule.setAuthz(self)
        for matcher in self.roleMatchers:
            matcher.setAuthz(self)
        self._needs_owner = any(isinstance(m, RolesFromOwner) for m in self.roleMatchers)

    def setMaster(self, master: Any) -> None:
        self.master = master
        for rule in self.allowRules:
            rule.setMaster(master)

    def getConfigDict(self) -> dict[str, Any]:
        return {}

    def getRolesFromUser(self, userDetails: dict[str, Any], owner: Any = None) -> set[str]:
        roles: set[str] = set()
        for matcher in self.roleMatchers:
            roles.update(matcher.getRolesFromUser(userDetails, owner))
        return roles

    async def assertUserAllowed(
        self,
        ep: Sequence[Any],
        action: str,
        options: dict[str, Any] | None,
        userDetails: dict[str, Any] | None,
    ) -> None:
        """Returns when allowed; raises `Forbidden` otherwise."""
        userDetails = userDetails or {}
        for rule in self.allowRules:
            match = await rule.match(tuple(ep), action, options)
            if match is None:
                continue
            # the owner costs reads: only a RolesFromOwner matcher uses it
            owner = await match.getOwner() if self._needs_owner else None
            roles = self.getRolesFromUser(userDetails, owner)
            if any(self.match(role, rule.role) for role in roles):
                return
            if rule.defaultDeny:
                raise Forbidden(f"you need to have role '{rule.role}'")
