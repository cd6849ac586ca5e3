"""Role matchers: the roles a logged-in user has, from its user info (and, for
`RolesFromOwner`, the owner of the build the request is about)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class RolesFromBase:
    def setAuthz(self, authz: Any) -> None:
        self.authz = authz

    def getRolesFromUser(self, userDetails: dict[str, Any], owner: Any = None) -> list[str]:
        raise NotImplementedError


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    return list(value)


class RolesFromGroups(RolesFromBase):
    """Each group of the user whose name starts with `groupPrefix`, prefix removed."""

    def __init__(self, groupPrefix: str = "") -> None:
        self.groupPrefix = groupPrefix

    def getRolesFromUser(self, userDetails: dict[str, Any], owner: Any = None) -> list[str]:
        return [
            g[len(self.groupPrefix) :]
            for g in _as_list(userDetails.get("groups"))
            if isinstance(g, str) and g.startswith(self.groupPrefix)
        ]


class _RolesFromMapping(RolesFromBase):
    """`Class(role=[values...], ...)`: a role for each list holding the user's value."""

    def __init__(self, **roles: Iterable[str]) -> None:
        self.roles: dict[str, list[str]] = {}
        for role, values in roles.items():
            for value in _as_list(values):
                self.roles.setdefault(self._key(value), []).append(role)

    @staticmethod
    def _key(value: str) -> str:
        return value

    def _user_key(self, userDetails: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def getRolesFromUser(self, userDetails: dict[str, Any], owner: Any = None) -> list[str]:
        key = self._user_key(userDetails)
        return list(self.roles.get(key, [])) if key is not None else []


class RolesFromEmails(_RolesFromMapping):
    def _user_key(self, userDetails: dict[str, Any]) -> str | None:
        return userDetails.get("email")


class RolesFromDomain(_RolesFromMapping):
    """Roles for users whose email is in one of the given domains."""

    @staticmethod
    def _key(value: str) -> str:
        return value.lower()

    def _user_key(self, userDetails: dict[str, Any]) -> str | None:
        email = userDetails.get("email")
        if not isinstance(email, str) or "@" not in email:
            return None
        return email.rsplit("@", 1)[1].lower()


class RolesFromUsername(RolesFromBase):
    def __init__(self, roles: Any, usernames: Any) -> None:
        self.roles = _as_list(roles)
        self.usernames = _as_list(usernames)

    def getRolesFromUser(self, userDetails: dict[str, Any], owner: Any = None) -> list[str]:
        if userDetails.get("username") in self.usernames:
            return list(self.roles)
        return []


class RolesFromOwner(RolesFromBase):
    """`role` for the user who owns the build (buildset) the request is about."""

    def __init__(self, role: str) -> None:
        self.role = role

    def getRolesFromUser(self, userDetails: dict[str, Any], owner: Any = None) -> list[str]:
        if owner is None:
            return []
        ids = {userDetails.get("email"), userDetails.get("username")} - {None}
        return [self.role] if owner in ids else []
