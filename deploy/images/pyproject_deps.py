"""Print the third-party dependencies of the given packages, one per line.

The Dockerfiles install these in their own layer before copying any source, so
editing code does not re-resolve dependencies. Our own packages (pentagon-*)
are installed afterwards from the copied source with --no-deps.

    python pyproject_deps.py libs/common services/webhook > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def third_party(package_dir: Path) -> list[str]:
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    return [dep for dep in project.get("dependencies", []) if not dep.lower().startswith("pentagon")]


def main(dirs: list[str]) -> int:
    seen: dict[str, None] = {}
    for name in dirs:
        for dep in third_party(Path(name)):
            seen.setdefault(dep, None)
    print("\n".join(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
