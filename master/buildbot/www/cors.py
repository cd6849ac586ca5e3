"""Which browser origins may call the REST API (`www['allowed_origins']`)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

#: the methods a preflight request may ask for
PREFLIGHT_METHODS = ("GET", "POST", "HEAD")


def origin_of(url: str) -> str:
    """'http://example.org:8010/bb/' -> 'http://example.org:8010'."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class OriginMatcher:
    """fnmatch patterns, compared case-insensitively."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in self.patterns) or "(?!)"
        self._regex = re.compile(joined, re.IGNORECASE)

    def __call__(self, origin: str) -> bool:
        return self._regex.match(origin) is not None
