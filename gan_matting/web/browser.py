"""Drive the page for real: the server on a loopback port in a thread, Debian's headless Chromium through
Selenium and chromedriver. Used by the browser test and by ``experiments/web_screenshot.py``.

    with running_server(app) as url, headless_chromium(profile_dir) as driver:
        driver.get(url)
        matte_on_page(driver, image_path, trimap_path)

Nothing here downloads a browser or a driver: both must be installed (``make test`` installs Debian's
``chromium`` and ``chromium-driver`` when it can).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = ("headless Chromium not installed (`make test` installs Debian's chromium and chromium-driver "
           "when it runs as root with apt-get)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(app, timeout: float = 20.0) -> Iterator[str]:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread; yields its URL, stops it on exit."""
    import uvicorn
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + timeout
    while not server.started and thread.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("uvicorn did not start on 127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def headless_chromium(profile_dir: Path, width: int = 1200, height: int = 1100):
    """A Selenium Chrome driver on the installed Chromium, with the flags a closed network needs
    (no background networking, component updates, sync or QUIC) and a fresh profile folder."""
    if not (CHROMIUM and CHROMEDRIVER):
        raise RuntimeError(MISSING)
    from selenium import webdriver
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--hide-scrollbars", f"--user-data-dir={profile_dir}",
                 f"--window-size={width},{height}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def matte_on_page(driver, image: Optional[Path], trimap: Optional[Path] = None, timeout: float = 120.0) -> str:
    """Upload ``image`` (and ``trimap``), press Matte and wait; returns the status line ('done' or the error).
    ``image=None`` keeps the photo already chosen, and with it the paint on it: choosing a photo, even the
    same file again, clears the brush strokes."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    if image is not None:
        driver.find_element(By.ID, "image-input").send_keys(str(Path(image).resolve()))
    if trimap is not None:
        driver.find_element(By.ID, "trimap-input").send_keys(str(Path(trimap).resolve()))
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "matte-button").is_enabled())
    # a second matte on the same page: the last run's "done" is still shown until the click handler runs
    driver.execute_script("document.getElementById('status').textContent = '';")
    driver.find_element(By.ID, "matte-button").click()

    def finished(d):
        st = d.find_element(By.ID, "status")
        return st.text == "done" or "error" in (st.get_attribute("class") or "")
    WebDriverWait(driver, timeout).until(finished)
    return driver.find_element(By.ID, "status").text


def download_bytes(driver) -> bytes:
    """The bytes behind the page's download link (a blob URL), read inside the page."""
    import base64
    b64 = driver.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.getElementById('download').href).then(r => r.arrayBuffer()).then(buf => {"
        "  let s = ''; const b = new Uint8Array(buf);"
        "  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);"
        "  done(btoa(s)); });")
    return base64.b64decode(b64)
