"""Debian's chromium, driven by selenium through Debian's chromedriver: no browser download."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing() -> str | None:
    """Why the browser cannot run here, or None."""
    for program in (CHROMIUM, CHROMEDRIVER):
        if not (Path(program).is_file() and os.access(program, os.X_OK)):
            return f"{program} is not installed: run `make setup` (apt: chromium chromium-driver)"
    if shutil.which("fc-list") is None:
        return "fontconfig is missing: run `make setup`"
    return None


def start(download_dir: Path, width: int = 1400, height: int = 900):
    """A headless chromium that saves downloads into `download_dir` and keeps console logs."""
    os.environ["SE_OFFLINE"] = "true"  # selenium must never fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # runs as root in containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--mute-audio",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)}
    )
    return driver


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
