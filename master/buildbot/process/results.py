"""Build and step result codes, and how a step's result folds into its build's."""

from __future__ import annotations

SUCCESS = 0
WARNINGS = 1
FAILURE = 2
SKIPPED = 3
EXCEPTION = 4
RETRY = 5
CANCELLED = 6

Results = ["success", "warnings", "failure", "skipped", "exception", "retry", "cancelled"]
ALL_RESULTS = list(range(len(Results)))

_PLURALS = ["successes", "warnings", "failures", "skipped", "exceptions", "retries", "cancelled"]

# Worst first: a build's result is the worst of its parts.
_SEVERITY = [CANCELLED, RETRY, EXCEPTION, FAILURE, WARNINGS, SUCCESS, SKIPPED]
_RANK = {result: len(_SEVERITY) - i for i, result in enumerate(_SEVERITY)}


def statusToString(status: int | None, count: int = 1) -> str:
    if status is None:
        return "not finished"
    if status not in _RANK:
        return "Invalid status"
    return _PLURALS[status] if count > 1 else Results[status]


def worst_status(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if _RANK[a] >= _RANK[b] else b


def computeResultAndTermination(obj, result: int, previousResult: int | None):
    """Fold a step's `result` into the build's `previousResult`.

    `obj` carries the step's flags (flunkOnFailure, warnOnFailure, haltOnFailure,
    warnOnWarnings, flunkOnWarnings). Returns (new build result, terminate?).
    """
    possible_overall = result
    terminate = False
    if result == FAILURE:
        if not obj.flunkOnFailure:
            possible_overall = WARNINGS if obj.warnOnFailure else SUCCESS
        if obj.haltOnFailure:
            terminate = True
    elif result == WARNINGS:
        if obj.flunkOnWarnings:
            possible_overall = FAILURE
        elif obj.warnOnWarnings:
            possible_overall = WARNINGS
        else:
            possible_overall = SUCCESS
    elif result in (EXCEPTION, RETRY, CANCELLED):
        terminate = True
    return worst_status(previousResult, possible_overall), terminate


class ResultComputingConfigMixin:
    """The flags `computeResultAndTermination` reads, with their defaults."""

    haltOnFailure = False
    flunkOnWarnings = False
    flunkOnFailure = True
    warnOnWarnings = False
    warnOnFailure = False

    resultConfig = [
        "haltOnFailure",
        "flunkOnWarnings",
        "flunkOnFailure",
        "warnOnWarnings",
        "warnOnFailure",
    ]
