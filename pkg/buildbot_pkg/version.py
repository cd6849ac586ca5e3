"""The one version computation shared by every buildbot distribution.

In order of precedence:

1. ``BUILDBOT_VERSION`` in the environment (release builds set it);
2. the ``Version:`` of a ``PKG-INFO`` file in the project root (an unpacked sdist);
3. ``git describe`` against tags named ``vX.Y.Z``: on a tag, that version; N
   commits after it, the next patch release's ``.devN`` with the commit as local
   label;
4. with no tag at all, ``COMPAT_BASE`` (the Buildbot series we are compatible
   with) as the tag, so that plugins asking for ``buildbot>=4`` accept us;
5. without git, ``COMPAT_BASE.dev0``.

This file must stay importable on its own (hatchling evaluates it by path).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping

COMPAT_BASE = "4.3.0"

_DESCRIBE_RE = re.compile(r"^v(?P<base>\d+(?:\.\d+)*)-(?P<distance>\d+)-g(?P<sha>[0-9a-f]+)$")


def _git(root: str, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _next_patch(base: str) -> str:
    parts = [int(p) for p in base.split(".")]
    while len(parts) < 3:
        parts.append(0)
    parts[-1] += 1
    return ".".join(str(p) for p in parts)


def version_from_describe(described: str) -> str | None:
    """Turn ``git describe --long`` output into a PEP 440 version."""
    m = _DESCRIBE_RE.match(described)
    if not m:
        return None
    base, distance, sha = m.group("base"), int(m.group("distance")), m.group("sha")
    if distance == 0:
        return base
    return f"{_next_patch(base)}.dev{distance}+g{sha}"


def _from_pkg_info(root: str) -> str | None:
    path = os.path.join(root, "PKG-INFO")
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def compute_version(root: str = ".", environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    forced = env.get("BUILDBOT_VERSION", "").strip()
    if forced:
        return forced
    from_sdist = _from_pkg_info(root)
    if from_sdist:
        return from_sdist
    described = _git(root, "describe", "--tags", "--long", "--match", "v[0-9]*")
    if described:
        version = version_from_describe(described)
        if version:
            return version
    count = _git(root, "rev-list", "--count", "HEAD")
    sha = _git(root, "rev-parse", "--short", "HEAD")
    if count and sha:
        return f"{_next_patch(COMPAT_BASE)}.dev{count}+g{sha}"
    return f"{_next_patch(COMPAT_BASE)}.dev0"
