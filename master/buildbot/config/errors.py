"""Configuration errors, collected so that every mistake is reported at once."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator


class ConfigErrors(Exception):
    """One or more problems found in the configuration."""

    def __init__(self, errors: Iterable[str] | None = None) -> None:
        self.errors: list[str] = list(errors or [])
        super().__init__(self.errors)

    def addError(self, msg: str) -> None:
        self.errors.append(msg)

    def merge(self, other: ConfigErrors) -> None:
        self.errors.extend(other.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __str__(self) -> str:
        return "\n".join(self.errors)


# The collector in force while a configuration is being loaded, per thread: a
# running master loads master.cfg in a thread while the reactor thread goes on.
_local = threading.local()


def _current() -> ConfigErrors | None:
    return getattr(_local, "errors", None)


def error(msg: str, always_raise: bool = False) -> None:
    """Report a configuration problem.

    While a configuration is being loaded (inside `capture_config_errors`) the
    message is collected and loading goes on, so that all problems are shown
    together; otherwise, or with `always_raise`, it is raised at once.
    """
    collector = _current()
    if collector is not None and not always_raise:
        collector.addError(msg)
    else:
        raise ConfigErrors([msg])


@contextlib.contextmanager
def capture_config_errors(raise_on_error: bool = False) -> Iterator[ConfigErrors]:
    """Collect the errors reported by `error` within the block.

    With `raise_on_error`, a non-empty collection is raised when the block
    ends; without it, the errors are handed to an enclosing collector, if
    any. A `ConfigErrors` raised inside the block is merged into the
    collection rather than escaping on its own.
    """
    previous = _current()
    collected = _local.errors = ConfigErrors()
    try:
        yield collected
    except ConfigErrors as e:
        collected.merge(e)
    finally:
        _local.errors = previous
    if raise_on_error and collected:
        raise collected
    if previous is not None:
        previous.merge(collected)
