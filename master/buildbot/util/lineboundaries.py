"""Cut a stream of text, arriving in arbitrary pieces, into whole lines.

    finder = LineBoundaryFinder()
    finder.append("abc\\nde")   # -> "abc\\n"
    finder.append("f\\r\\ng")   # -> "def\\n"
    finder.flush()              # -> "g\\n"

Line ends are ``\\n``, ``\\r\\n`` and a lone ``\\r``; the output uses ``\\n`` only.
A ``\\r`` at the very end of a piece is held back until the next piece shows
whether a ``\\n`` follows it, so a ``\\r\\n`` split between two pieces is still
one line end.
"""

from __future__ import annotations


def _normalize(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class LineBoundaryFinder:
    def __init__(self) -> None:
        # the text of the unfinished line, in pieces; it holds no line end
        # except, maybe, one "\r" at the very end
        self._parts: list[str] = []

    @property
    def partial(self) -> str:
        """The text not yet returned (the start of an unfinished line)."""
        return "".join(self._parts)

    def append(self, text: str) -> str | None:
        """Add text; return the lines it completes (each ending with "\\n"), or None."""
        if not text:
            return None
        if self._parts and self._parts[-1].endswith("\r"):
            # resolve the held-back "\r" together with the new text
            self._parts[-1] = self._parts[-1][:-1]
            text = "\r" + text
        held = ""
        if text.endswith("\r"):
            text, held = text[:-1], "\r"
        text = _normalize(text)
        cut = text.rfind("\n") + 1
        if cut == 0:
            self._parts.append(text + held)
            return None
        lines = "".join(self._parts) + text[:cut]
        tail = text[cut:] + held
        self._parts = [tail] if tail else []
        return lines

    def flush(self) -> str | None:
        """Return the unfinished line, ended with "\\n" (None if there is none)."""
        text = "".join(self._parts)
        self._parts = []
        if text.endswith("\r"):
            text = text[:-1]
            return text + "\n"
        return text + "\n" if text else None
