"""axe-core audits of served pages, from the pinned npm package (package.json).

The browser tests inject `node_modules/axe-core/axe.min.js` into the page they drive and
run it there: the audit sees the page as a person's browser renders it, live swaps
included. `make install-dev` (and so `make test`) installs the package with `npm ci`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import REQUIRE_SERVICES

AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices that concern people (landmarks, headings).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def require_axe() -> None:
    """Skip without the npm package - or fail, where every tool must be there (CI)."""
    if AXE_SCRIPT.exists():
        return
    hint = "npm ci" if shutil.which("npm") else "apt-get install npm, then npm ci"
    reason = f"missing tool: axe-core at {os.path.relpath(AXE_SCRIPT)} ({hint})"
    if REQUIRE_SERVICES:
        pytest.fail(reason + " (LODGETIX_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; each violation with its id, impact and nodes."""
    require_axe()
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
    ]
