"""`ChangeFilter`: which changes a scheduler takes (`util.ChangeFilter` in master.cfg)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from buildbot import config
from buildbot.util import ComparableMixin
from buildbot.util.ssfilter import UNSET, ValueMatcher, compile_regexes

OWNER = "ChangeFilter"


class _NotABranch:
    def __repr__(self) -> str:
        return "NotABranch"

    def __bool__(self) -> bool:
        return False


#: "no branch given" (`branch=None` means the default branch)
NotABranch: Any = _NotABranch()


class ChangeFilter(ComparableMixin):
    """Every criterion given must pass; see config.md §6 for the arguments.

    Per attribute (project, repository, branch, category, codebase): the plain
    argument (a value or a list: the value must be one of them), `_not_eq`,
    `_re`, `_not_re` (regexes, matched with `match`) and `_fn` (a predicate).
    `property_eq`/`_not_eq`/`_re`/`_not_re` map a property name to value(s) or
    regex(es). `filter_fn(change)` sees the whole change.
    """

    compare_attrs = ("filter_fn", "checks", "property_checks")
    ATTRS = ("project", "repository", "branch", "category", "codebase")

    def __init__(
        self,
        filter_fn: Callable[[Any], bool] | None = None,
        project: Any = None,
        project_not_eq: Any = None,
        project_re: Any = None,
        project_not_re: Any = None,
        project_fn: Callable[[Any], bool] | None = None,
        repository: Any = None,
        repository_not_eq: Any = None,
        repository_re: Any = None,
        repository_not_re: Any = None,
        repository_fn: Callable[[Any], bool] | None = None,
        branch: Any = NotABranch,
        branch_not_eq: Any = None,
        branch_re: Any = None,
        branch_not_re: Any = None,
        branch_fn: Callable[[Any], bool] | None = None,
        category: Any = None,
        category_not_eq: Any = None,
        category_re: Any = None,
        category_not_re: Any = None,
        category_fn: Callable[[Any], bool] | None = None,
        codebase: Any = None,
        codebase_not_eq: Any = None,
        codebase_re: Any = None,
        codebase_not_re: Any = None,
        codebase_fn: Callable[[Any], bool] | None = None,
        property_eq: dict[str, Any] | None = None,
        property_not_eq: dict[str, Any] | None = None,
        property_re: dict[str, Any] | None = None,
        property_not_re: dict[str, Any] | None = None,
    ) -> None:
        given = locals()
        if filter_fn is not None and not callable(filter_fn):
            config.error(f"{OWNER}: filter_fn must be a callable, not {filter_fn!r}")
            filter_fn = None
        self.filter_fn = filter_fn

        def eq_of(attr: str) -> Any:
            value = given[attr]
            if attr == "branch":
                return UNSET if value is NotABranch else value
            return UNSET if value is None else value

        checks = (
            ValueMatcher(
                OWNER,
                attr,
                eq=eq_of(attr),
                not_eq=given[f"{attr}_not_eq"],
                regex=given[f"{attr}_re"],
                not_regex=given[f"{attr}_not_re"],
                fn=given[f"{attr}_fn"],
            )
            for attr in self.ATTRS
        )
        self.checks = tuple(m for m in checks if m.is_set())
        self.property_checks = self._property_checks(
            property_eq, property_not_eq, property_re, property_not_re
        )

    @staticmethod
    def _property_checks(
        eq: Any, not_eq: Any, regex: Any, not_regex: Any
    ) -> tuple[ValueMatcher, ...]:
        args = {"property_eq": eq, "property_not_eq": not_eq}
        args.update(property_re=regex, property_not_re=not_regex)
        for arg, value in args.items():
            if value is not None and not (
                isinstance(value, dict) and all(isinstance(k, str) for k in value)
            ):
                config.error(f"{OWNER}: {arg} must be a dict of property name -> values")
                args[arg] = None
        names: list[str] = []
        for value in args.values():
            names.extend(n for n in value or {} if n not in names)
        checks = []
        for name in names:

            def get(arg: str, name: str = name) -> Any:
                return (args[arg] or {}).get(name)

            checks.append(
                ValueMatcher(
                    OWNER,
                    name,
                    eq=get("property_eq") if name in (args["property_eq"] or {}) else UNSET,
                    not_eq=get("property_not_eq"),
                    regex=compile_regexes(OWNER, f"property_re[{name!r}]", get("property_re")),
                    not_regex=compile_regexes(
                        OWNER, f"property_not_re[{name!r}]", get("property_not_re")
                    ),
                )
            )
        return tuple(checks)

    def filter_change(self, change: Any) -> bool:
        """Whether `change` passes every criterion."""
        for m in self.checks:
            if not m.matches(getattr(change, m.attr, None)):
                return False
        for m in self.property_checks:
            if not m.matches(change.properties.getProperty(m.attr)):
                return False
        return self.filter_fn is None or bool(self.filter_fn(change))

    @staticmethod
    def fromSchedulerConstructorArgs(
        change_filter: ChangeFilter | None = None,
        branch: Any = NotABranch,
        categories: Any = None,
    ) -> ChangeFilter | None:
        """The filter a scheduler uses from its `change_filter`, `branch` and
        `categories` arguments (the first, or one made of the other two; None
        accepts everything)."""
        if change_filter is not None:
            if branch is not NotABranch or categories is not None:
                config.error(
                    "cannot specify both change_filter and branch or categories "
                    "(put them in the ChangeFilter)"
                )
            if not isinstance(change_filter, ChangeFilter) and not hasattr(
                change_filter, "filter_change"
            ):
                config.error(f"change_filter must be a ChangeFilter, not {change_filter!r}")
                return None
            return change_filter
        if branch is NotABranch and categories is None:
            return None
        return ChangeFilter(branch=branch, category=categories)

    def __repr__(self) -> str:
        parts = [d for m in self.checks for d in m.describe()]
        parts += [f"property {d}" for m in self.property_checks for d in m.describe()]
        if self.filter_fn is not None:
            parts.append(f"{getattr(self.filter_fn, '__name__', repr(self.filter_fn))}()")
        return f"<{OWNER} on {' and '.join(parts) or 'anything'}>"
