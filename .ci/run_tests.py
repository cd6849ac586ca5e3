"""Run the Trial suite under coverage and end with one summary line.

Usage: python .ci/run_tests.py [--jobs N] MODULE [MODULE ...]

The last line printed is ``N passed, N failed, N skipped`` (what CI reads);
the exit status is non-zero if any test failed or none ran.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
RESULT_RE = re.compile(r"^(PASSED|FAILED) \((?P<counts>[^)]*)\)\s*$")
RAN_RE = re.compile(r"^Ran (?P<n>\d+) tests? in ")


def parse_counts(lines: list[str]) -> dict[str, int] | None:
    """Read trial's closing 'PASSED (successes=…)' / 'FAILED (…)' line."""
    for line in reversed(lines):
        m = RESULT_RE.match(line.strip())
        if m:
            counts: dict[str, int] = {}
            for part in m.group("counts").split(","):
                key, _, value = part.strip().partition("=")
                if value.isdigit():
                    counts[key] = int(value)
            return counts
    return None


def summarize(counts: dict[str, int]) -> tuple[int, int, int]:
    passed = counts.get("successes", 0) + counts.get("expectedFailures", 0)
    failed = (
        counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpectedSuccesses", 0)
    )
    return passed, failed, counts.get("skips", 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--env-file",
        action="append",
        default=[],
        help="KEY=VALUE lines added to the tests' environment (may be repeated)",
    )
    parser.add_argument("modules", nargs="+")
    args = parser.parse_args()

    cov_dir = os.path.join(BUILD, "coverage")
    shutil.rmtree(cov_dir, ignore_errors=True)
    os.makedirs(cov_dir)
    env = dict(os.environ, COVERAGE_RCFILE=os.path.join(ROOT, ".coveragerc"))
    for env_file in args.env_file:
        with open(env_file) as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep and not key.startswith("#"):
                    env[key] = value
    py = sys.executable
    cmd = [
        py,
        "-m",
        "coverage",
        "run",
        "-m",
        "twisted.trial",
        f"--temp-directory={os.path.join(BUILD, '_trial_temp')}",
    ]
    if args.jobs > 1:
        cmd.append(f"--jobs={args.jobs}")
    cmd += args.modules

    lines: list[str] = []
    with subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append(line)
            del lines[:-200]
        rc = proc.wait()
    sys.stdout.flush()

    subprocess.run([py, "-m", "coverage", "combine", "-q"], cwd=ROOT, env=env, check=False)
    print("\nLine and branch coverage of master, worker and pkg (fully covered files omitted):")
    subprocess.run([py, "-m", "coverage", "report"], cwd=ROOT, env=env, check=False)

    counts = parse_counts(lines)
    ran = next((int(m.group("n")) for m in map(RAN_RE.match, reversed(lines)) if m), 0)
    if counts is None or ran == 0:
        print("trial did not report a result: the suite did not run")
        print("0 passed, 1 failed")
        return 1
    passed, failed, skipped = summarize(counts)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if (rc != 0 or failed) else 0


if __name__ == "__main__":
    sys.exit(main())
