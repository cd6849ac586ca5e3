"""Matching of attribute values by equality, exclusion, regex and predicate.

`ValueMatcher` is the check of one attribute; `SourceStampFilter` (reporters,
cancellers) and `buildbot.changes.filter.ChangeFilter` (schedulers) are sets of
them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from buildbot import config
from buildbot.util import ComparableMixin


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


#: "no equality criterion" (where None is itself a value to compare with)
UNSET: Any = _Unset()


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def compile_regexes(owner: str, arg: str, value: Any) -> list[re.Pattern[str]]:
    """The regexes of a `*_re` argument: a str, a compiled pattern or a list of them."""
    if value is None:
        return []
    patterns = []
    for r in _as_list(value):
        if isinstance(r, re.Pattern):
            patterns.append(r)
            continue
        if not isinstance(r, str):
            config.error(f"{owner}: {arg} must be a regex (str or compiled), not {r!r}")
            continue
        try:
            patterns.append(re.compile(r))
        except re.error as e:
            config.error(f"{owner}: {arg}: cannot compile regex {r!r}: {e}")
    return patterns


def _matches_any(patterns: Iterable[re.Pattern[str]], value: Any) -> bool:
    return isinstance(value, str) and any(p.match(value) for p in patterns)


class ValueMatcher(ComparableMixin):
    """The checks of one attribute; every one given must pass.

    `eq`: a value or a list of values the attribute must be one of (UNSET: no
    check); `not_eq`: values it must not be; `regex` / `not_regex`: regexes it
    must (must not) `match`; `fn`: a predicate on the value.
    """

    compare_attrs = ("attr", "eq", "not_eq", "re", "not_re", "fn")

    def __init__(
        self,
        owner: str,
        attr: str,
        eq: Any = UNSET,
        not_eq: Any = None,
        regex: Any = None,
        not_regex: Any = None,
        fn: Callable[[Any], bool] | None = None,
        suffix_eq: str = "",
    ) -> None:
        self.attr = attr
        self.eq = None if eq is UNSET else _as_list(eq)
        self.not_eq = None if not_eq is None else _as_list(not_eq)
        self.re = compile_regexes(owner, f"{attr}_re", regex)
        self.not_re = compile_regexes(owner, f"{attr}_not_re", not_regex)
        if fn is not None and not callable(fn):
            config.error(f"{owner}: {attr}_fn must be a callable, not {fn!r}")
            fn = None
        self.fn = fn
        self._suffix_eq = suffix_eq

    def is_set(self) -> bool:
        return (
            self.eq is not None
            or self.not_eq is not None
            or bool(self.re or self.not_re)
            or self.fn is not None
        )

    def matches(self, value: Any) -> bool:
        if self.eq is not None and value not in self.eq:
            return False
        if self.not_eq is not None and value in self.not_eq:
            return False
        if self.re and not _matches_any(self.re, value):
            return False
        if self.not_re and _matches_any(self.not_re, value):
            return False
        return self.fn is None or bool(self.fn(value))

    def describe(self) -> list[str]:
        """What is checked, for reprs: ``branch in ['main']``..."""
        out = []
        name = self.attr + self._suffix_eq
        if self.eq is not None:
            out.append(f"{name} in {self.eq!r}")
        if self.not_eq is not None:
            out.append(f"{self.attr} not in {self.not_eq!r}")
        if self.re:
            out.append(f"{self.attr} ~ {[p.pattern for p in self.re]!r}")
        if self.not_re:
            out.append(f"{self.attr} !~ {[p.pattern for p in self.not_re]!r}")
        if self.fn is not None:
            out.append(f"{getattr(self.fn, '__name__', repr(self.fn))}({self.attr})")
        return out


class SourceStampFilter(ComparableMixin):
    """Selects sourcestamps (dicts with project, repository, branch, codebase).

    Per attribute: `<attr>_eq` (value or list), `<attr>_not_eq`, `<attr>_re`,
    `<attr>_not_re` (regex, compiled or not, or a list); all given must pass.
    """

    compare_attrs = ("checks",)
    ATTRS = ("project", "repository", "branch", "codebase")

    def __init__(
        self,
        project_eq: Any = None,
        project_not_eq: Any = None,
        project_re: Any = None,
        project_not_re: Any = None,
        repository_eq: Any = None,
        repository_not_eq: Any = None,
        repository_re: Any = None,
        repository_not_re: Any = None,
        branch_eq: Any = None,
        branch_not_eq: Any = None,
        branch_re: Any = None,
        branch_not_re: Any = None,
        codebase_eq: Any = None,
        codebase_not_eq: Any = None,
        codebase_re: Any = None,
        codebase_not_re: Any = None,
    ) -> None:
        given = locals()
        self.checks = tuple(
            m
            for m in (
                ValueMatcher(
                    "SourceStampFilter",
                    attr,
                    eq=UNSET if given[f"{attr}_eq"] is None else given[f"{attr}_eq"],
                    not_eq=given[f"{attr}_not_eq"],
                    regex=given[f"{attr}_re"],
                    not_regex=given[f"{attr}_not_re"],
                    suffix_eq="_eq",
                )
                for attr in self.ATTRS
            )
            if m.is_set()
        )

    def is_matched(self, ss: dict[str, Any]) -> bool:
        return all(m.matches(ss.get(m.attr)) for m in self.checks)

    def __repr__(self) -> str:
        parts = [d for m in self.checks for d in m.describe()]
        return f"<SourceStampFilter on {' and '.join(parts) or 'anything'}>"
