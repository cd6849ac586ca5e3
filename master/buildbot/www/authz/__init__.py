"""Web authorization: `Authz` with its allow rules (endpoint matchers) and role matchers."""

from buildbot.www.authz.authz import Authz, Forbidden, fnmatchStrMatcher, reStrMatcher

__all__ = ["Authz", "Forbidden", "fnmatchStrMatcher", "reStrMatcher"]
