"""Fetch the console's front-end files from the npm registry, pinned by version and integrity.

``python -m server.console.vendor`` runs ``npm pack`` for each package of ``vendor.json`` (the npm
CLI's configured registry), refuses a tarball whose integrity differs from the pinned one, and
writes the listed files, licences included, under ``static/vendor/``. ``--check`` only verifies
that the files in the tree are the pinned ones (their SHA-256), as the tests do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "vendor.json"
TARGET = HERE / "static" / "vendor"


def manifest() -> dict[str, dict]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def fetch(name: str, spec: dict, workdir: Path) -> None:
    out = subprocess.run(
        ["npm", "pack", f"{name}@{spec['version']}", "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    (packed,) = json.loads(out.stdout)
    tarball = workdir / packed["filename"]
    if _integrity(tarball) != spec["integrity"]:
        raise SystemExit(f"{name}@{spec['version']}: integrity differs from the pinned one; refusing it")
    with tarfile.open(tarball) as tar:
        for inside, dest in spec["files"].items():
            member = tar.extractfile(f"package/{inside}")
            if member is None:
                raise SystemExit(f"{name}@{spec['version']}: no {inside} in the package")
            (TARGET / dest["as"]).write_bytes(member.read())
            if sha256(TARGET / dest["as"]) != dest["sha256"]:
                raise SystemExit(f"{name}: {inside} differs from the pinned file")


def check() -> list[str]:
    """What in static/vendor/ is missing or differs from vendor.json (empty: all as pinned)."""
    wrong = []
    for name, spec in manifest().items():
        for dest in spec["files"].values():
            path = TARGET / dest["as"]
            if not path.is_file():
                wrong.append(f"{name}: {dest['as']} missing")
            elif sha256(path) != dest["sha256"]:
                wrong.append(f"{name}: {dest['as']} is not the pinned file")
    return wrong


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        wrong = check()
        print("\n".join(wrong) or "vendored files are as pinned")
        return 1 if wrong else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in manifest().items():
            fetch(name, spec, Path(tmp))
            print(f"{name}@{spec['version']} ({spec['licence']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
