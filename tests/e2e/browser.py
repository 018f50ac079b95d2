"""A real browser for the UI tests: Playwright driving Debian's Chromium (Playwright cannot download its own here).

`chromium` installs Debian's package when it is missing (root, as on a fresh CI machine); `artifacts` keeps each
test's screenshots in tests/e2e/artifacts/<test>/ (git-ignored) so a person can look at them after the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def install_chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing (what `make test` does on a fresh machine)."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing: run `apt-get update && apt-get install -y chromium` as root")
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, timeout=1200)
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium() -> Path:
    return install_chromium()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A folder for screenshots, copied to tests/e2e/artifacts/<test name>/ after the test, pass or fail."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    kept = ARTIFACTS / request.node.name
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(folder, kept)


@contextmanager
def browser_page(executable: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(executable),
            headless=True,
            args=FLAGS,
            viewport={"width": 1600, "height": 1000},
        )
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()


def open_page(page: Any, url: str) -> None:
    """Go to `url`; on a first visit, skip Dagster's "Join the Dagster community" dialog that covers the page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url, wait_until="networkidle")
    dialog = page.get_by_text("Join the Dagster community")
    try:
        dialog.wait_for(timeout=5_000)
    except PlaywrightTimeout:
        return
    page.get_by_role("button", name="Skip").click()
    dialog.wait_for(state="hidden")
