"""Fail when a Python module passes the size where a second concept has usually moved in.

Usage: python .ci/module_size.py [LIMIT]  (default 400 lines, STYLE.md's guide)
Checks every tracked and untracked-but-not-ignored *.py file of the project.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEFAULT_LIMIT = 400


def python_files(root: Path) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [root / name for name in listed if (root / name).exists()]


def main(argv: list[str]) -> int:
    limit = int(argv[1]) if len(argv) > 1 else DEFAULT_LIMIT
    root = Path(__file__).resolve().parent.parent
    too_long = []
    for path in python_files(root):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long.append((lines, path.relative_to(root)))
    for lines, path in sorted(too_long, reverse=True):
        print(f"{path}: {lines} lines (limit {limit}); split it by concept", file=sys.stderr)
    if not too_long:
        print(f"module size: every module is at most {limit} lines")
    return 1 if too_long else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
