"""Headless Chromium for the console's end-to-end tests, and what the tests ask of a page:
axe-core's accessibility verdict and a screenshot for reviewers."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("LRS_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
AXE = "axe-core@4.10.2"
AXE_CACHE = Path.home() / ".cache" / "lrs-tests" / "axe-core"
AXE_SCRIPT = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".screenshots" / "console"


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2 A/AA violations on the page, as 'rule: target' lines."""
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]});
        return result.violations.flatMap(v => v.nodes.map(n => v.id + ": " + n.target.join(" ")));
    }""")
    return list(found)


def screenshot(page: Any, name: str) -> None:
    """Written for reviewers under .screenshots/console/ (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
