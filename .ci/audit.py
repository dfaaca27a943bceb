"""Known vulnerabilities in the locked runtime packages, from PyPI's advisory data (pip-audit's).

    python3 .ci/audit.py [requirements.lock]

For each ``name==version`` in the lock it reads PyPI's JSON API, whose ``vulnerabilities`` list
holds the advisories (PyPA advisory database, OSV format) that affect a release: the data
pip-audit's default service reads. pip-audit itself does not work on this project's machines:
its PyPI service asks for the per-release document (``/pypi/NAME/VERSION/json``), which the
registry they reach does not serve, and its OSV service needs api.osv.dev, which they cannot
reach. So this script asks for the release's document first and, where that is missing, for the
project's document, whose advisories are those of its newest release: exact for a pin at the
newest release (the usual case right after ``.ci/lock.py``), and reported as "not audited"
otherwise.

Exit 1 when a locked release has a known vulnerability or was yanked; "not audited" and an
unreachable registry are warnings (the install that ran just before shows the registry works).
"""

from __future__ import annotations

import concurrent.futures
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PYPI = "https://pypi.org/pypi"
LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def pins(lock: Path) -> list[tuple[str, str]]:
    found = []
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found.append((name.strip(), version.strip()))
    return found


def fetch(url: str) -> dict[str, Any] | None:
    """The JSON document at ``url``; None when PyPI says it does not exist."""
    for attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                data: dict[str, Any] = json.load(response)
                return data
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            if attempt == 2:
                raise
        except (urllib.error.URLError, TimeoutError):
            if attempt == 2:
                raise
    return None


def audit(name: str, version: str) -> tuple[str, list[str]]:
    """(status, findings); status: ok, vulnerable, yanked, not audited or unreachable."""
    try:
        release = fetch(f"{PYPI}/{name}/{version}/json")
        project = release or fetch(f"{PYPI}/{name}/json")
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return "unreachable", [f"{type(error).__name__}: {error}"]
    if project is None:
        return "not audited", ["PyPI does not know this project"]
    files = project.get("urls", []) if release else project.get("releases", {}).get(version, [])
    if files and all(f.get("yanked") for f in files):
        reasons = {f.get("yanked_reason") or "no reason given" for f in files}
        return "yanked", [f"{version} was yanked: {'; '.join(sorted(reasons))}"]
    newest = project.get("info", {}).get("version")
    if release is None and newest != version:
        return "not audited", [f"PyPI serves advisories only for the newest release ({newest})"]
    findings = []
    for advisory in project.get("vulnerabilities") or []:
        if advisory.get("withdrawn"):
            continue
        aliases = ", ".join(advisory.get("aliases") or [])
        fixed = ", ".join(advisory.get("fixed_in") or []) or "no fixed release"
        findings.append(
            f"{advisory.get('id')} ({aliases}): fixed in {fixed}; {advisory.get('link', '')}"
        )
    return ("vulnerable" if findings else "ok"), findings


def main() -> int:
    lock = Path(sys.argv[1]) if len(sys.argv) > 1 else LOCK
    locked = pins(lock)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda pin: audit(*pin), locked))
    counts: dict[str, int] = {}
    for (name, version), (status, findings) in zip(locked, results, strict=True):
        counts[status] = counts.get(status, 0) + 1
        if status != "ok":
            print(f"{name}=={version}: {status}")
            for finding in findings:
                print(f"    {finding}")
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"audit of {lock.name}: {len(locked)} packages: {summary}")
    return 1 if counts.get("vulnerable") or counts.get("yanked") else 0


if __name__ == "__main__":
    raise SystemExit(main())
