"""What the steps of the Buildbot 4.3 compatibility test print, and the program that prints it.

The real 4.3 worker runs this file as a script (`python buildbot43_output.py KIND TAG`);
the test imports it to know which lines to expect. It imports nothing but the
standard library, so the 4.3 virtualenv can run it without our package.
"""

from __future__ import annotations

import sys
import time

# kind -> exit code of its step
EXIT_CODES = {"greet": 0, "long": 0, "unicode": 0, "fail": 3}

LONG_LINES = 1500  # about 150 kB: several log chunks (at most 1000 lines or 64 kB each)


def stdout_lines(kind: str, tag: str) -> list[str]:
    """The lines step `kind` of build `tag` ("builder#number") writes to stdout."""
    if kind == "greet":
        return [f"hello from {tag}", "", "\ttabbed, and trailing spaces   ", f"end of greet {tag}"]
    if kind == "long":
        filler = "abcdefghijklmnopqrstuvwxyz0123456789"
        return [
            f"{tag} long line {i:05d} {filler[i % 36 :]}{filler[: i % 36]} {'=' * (i % 50)}"
            for i in range(LONG_LINES)
        ]
    if kind == "unicode":
        return [
            f"unicode step of {tag}",
            "naïve café, déjà vu, Zoë, Ångström",
            "Ελληνικά: αβγδε ΑΒΓΔΕ",
            "日本語のテキストと中文",
            "emoji outside the BMP: 🚀 ✨ 🐍",
            "mixed ✓ ✗ — “quotes” ‘single’ …",
        ]
    if kind == "fail":
        return [f"{tag} is about to fail", "on purpose"]
    raise ValueError(kind)


def stderr_lines(kind: str, tag: str) -> list[str]:
    if kind == "unicode":
        return [f"stderr of {tag}: ünïcödé ⚠"]
    if kind == "fail":
        return [f"error: {tag} failed on purpose (exit {EXIT_CODES[kind]})"]
    return []


def _write(stream, lines: list[str], burst: int) -> None:
    # Bursts with pauses, so the worker sends the output in several messages.
    for start in range(0, len(lines), burst):
        part = lines[start : start + burst]
        stream.write("".join(line + "\n" for line in part).encode("utf-8"))
        stream.flush()
        if start + burst < len(lines):
            time.sleep(0.05)


def main(argv: list[str]) -> int:
    kind, tag = argv[1], argv[2]
    _write(sys.stdout.buffer, stdout_lines(kind, tag), burst=300)
    _write(sys.stderr.buffer, stderr_lines(kind, tag), burst=300)
    return EXIT_CODES[kind]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
