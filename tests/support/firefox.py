"""Headless Debian ``firefox-esr`` for the BiDi client (:mod:`tests.support.bidi`): a
throwaway profile with quiet prefs, the BiDi port Firefox picks itself, and a process
group killed on the way out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

FIREFOX = Path(os.environ.get("FIREFOX_PATH", "/usr/bin/firefox-esr"))
# A cold start here prints the listening line after ~1.5 s; 30 s covers a loaded CI box.
START_TIMEOUT_SECONDS = 30.0
# After browser.close Firefox exits in ~0.5 s; then it is killed.
EXIT_TIMEOUT_SECONDS = 5.0
LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")

# Written to user.js: no first-run pages, telemetry, updates or background fetches (this
# machine has no internet; every such attempt only adds noise and delay). The remote agent
# also applies its own recommended automation prefs; user.js wins where both set one.
PREFS: Mapping[str, bool | int | str] = {
    "remote.active-protocols": 1,  # BiDi only (the pref is gone, and BiDi default, in 141+)
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.aboutwelcome.enabled": False,
    "startup.homepage_welcome_url": "about:blank",
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.search.update": False,
    "browser.region.network.url": "",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "services.settings.server": "http://127.0.0.1:9/",  # refused at once, never the internet
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.enabled": False,
}


@dataclass
class FirefoxProcess:
    """A headless Firefox started by ``launch()``; its output is in ``log_path``."""

    process: asyncio.subprocess.Process
    log_path: Path
    ws_url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def launch(binary: Path = FIREFOX) -> AsyncIterator[FirefoxProcess]:
    """Start headless Firefox with a fresh profile and wait for its BiDi listening line.

    The port is 0 (Firefox picks a free one and prints it: no race). On exit the whole
    process group is killed and the profile removed. Raises ``RuntimeError`` when Firefox
    exits early or does not listen within ``START_TIMEOUT_SECONDS``."""
    with tempfile.TemporaryDirectory(prefix="vc-firefox-") as work:
        profile = Path(work) / "profile"
        profile.mkdir()
        (profile / "user.js").write_text(
            "".join(
                f"user_pref({json.dumps(name)}, {json.dumps(value)});\n"
                for name, value in PREFS.items()
            )
        )
        log_path = Path(work) / "firefox.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                str(binary),
                "--headless",
                "--no-remote",
                "--profile",
                str(profile),
                "--remote-debugging-port",
                "0",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
                start_new_session=True,  # its own process group: content processes die too
            )
        try:
            ws_url = await _wait_listening(process, log_path)
            yield FirefoxProcess(process, log_path, ws_url)
        finally:
            await _stop(process)


async def _wait_listening(process: asyncio.subprocess.Process, log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        log = await asyncio.to_thread(log_path.read_text, errors="replace")
        found = LISTENING.search(log)
        if found:
            return found.group(1) + "/session"
        if process.returncode is not None:
            raise RuntimeError(f"firefox exited early:\n{log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"firefox did not listen within {START_TIMEOUT_SECONDS} s:\n{log}")
        await asyncio.sleep(0.02)  # polling its log for the ready line


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM if still running (after ``browser.close`` it is already leaving), SIGKILL
    after ``EXIT_TIMEOUT_SECONDS``; then kill whatever is left of its process group."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_TIMEOUT_SECONDS):
                await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
