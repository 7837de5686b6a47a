"""End to end: ``mmemo demo`` serves a page that headless Chromium drives offline.

The server runs in a subprocess on a free localhost port; Chromium (Debian's ``chromium`` and
``chromium-driver``) uploads a generated clip, presses Predict and must show the same emotion
and rationale as the Python API, plus both plots; a corrupt upload must show its error on the
page. Every request the page makes must stay on localhost. Skips when Chromium, its driver,
Selenium or Gradio (the ``demo`` extra) is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
REPO_ROOT = Path(__file__).resolve().parents[1]


def _require() -> None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium ...)")
    for module, extra in (("selenium", "selenium"), ("gradio", "mmemo[demo]")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module} (pip install '{extra}')")
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} to make the sample clip")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} to make the sample clip")
    from mmemo.data.samples import make_sample

    return make_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


def _is_png(data: bytes | None) -> bool:
    return data is not None and data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000


def test_analyse_clip_matches_predictor_and_draws_both_plots(sample, predictor):
    from mmemo.demo import analyse

    r = analyse(predictor, sample["clip"])
    expected = predictor.predict(sample["clip"])
    assert r.error is None
    assert r.emotion == expected.emotion and r.rationale == expected.rationale
    assert r.probabilities == pytest.approx(expected.probabilities)
    assert _is_png(r.au_png) and _is_png(r.prosody_png)


def test_analyse_audio_has_no_face_plot_and_image_no_pitch_plot(sample, predictor):
    from mmemo.demo import analyse

    audio = analyse(predictor, sample["speech"])
    assert audio.error is None and audio.au_png is None and _is_png(audio.prosody_png)
    image = analyse(predictor, sample["image"])
    assert image.error is None and image.prosody_png is None and _is_png(image.au_png)


def test_analyse_long_file_shows_the_timeline(tmp_path, predictor):
    from mmemo.data.samples import three_emotion_speech
    from mmemo.demo import analyse

    long = three_emotion_speech(tmp_path / "long.wav")
    r = analyse(predictor, long, name="talk.wav")
    assert r.error is None and _is_png(r.timeline_png)
    lines = r.segments.splitlines()
    assert len(lines) == 3 and r.summary.startswith("talk.wav: 3 segments")
    assert "duration-weighted" in r.rationale
    short = analyse(predictor, tmp_path / "long.wav", long_s=120.0)  # under the limit: one label
    assert short.timeline_png is None and short.segments == ""


def test_analyse_reports_a_bad_file_by_its_shown_name(tmp_path, predictor):
    from mmemo.demo import analyse

    bad = tmp_path / "upload_123.mp4"
    bad.write_bytes(b"\x00garbage" * 50)
    r = analyse(predictor, bad, name="holiday.mp4")
    assert r.error is not None and r.error.startswith("holiday.mp4: "), r.error
    assert str(tmp_path) not in r.error
    assert r.emotion == "" and r.probabilities == {} and r.au_png is None


def test_uploads_are_capped_and_deleted_after_use(sample, predictor, tmp_path):
    from mmemo.demo import analyse_upload

    folder = tmp_path / "gradio_upload_abc"  # Gradio keeps each upload in its own folder
    folder.mkdir()
    upload = folder / "me.png"
    shutil.copy(sample["image"], upload)
    r = analyse_upload(predictor, upload)
    assert r.error is None and r.emotion == predictor.predict(sample["image"]).emotion
    assert not upload.exists() and not folder.exists()  # nothing left in the temp folder
    big = tmp_path / "big.wav"
    shutil.copy(sample["speech"], big)
    r = analyse_upload(predictor, big, max_mb=0.001)
    assert r.error.startswith("big.wav: ") and "above the 0.001 MB upload limit" in r.error
    assert not big.exists()


def test_cli_rejects_a_bad_port(capsys):
    from mmemo.cli import main

    assert main(["demo", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mmemo demo exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.5)
    pytest.fail(
        f"mmemo demo did not answer at {url} within {timeout} s:\n{log.read_text()[-3000:]}"
    )


@contextlib.contextmanager
def _server(tmp: Path):
    port = _free_port()
    log = tmp / "server.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "mmemo.cli", "demo", "--port", str(port)]
    cmd += ["--samples-dir", str(tmp / "demo_samples")]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        yield f"http://127.0.0.1:{port}/", proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1400,2400",
        f"--user-data-dir={profile}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # an explicit driver path keeps Selenium Manager from looking for (downloading) one
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)


def _requested_urls(driver) -> set[str]:
    urls = set()
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.add(msg["params"]["request"]["url"])
    return urls


def _predict(driver, url: str, path: Path | None, expect: str, timeout: float = 60) -> str:
    """Load the page, upload ``path`` (None: keep the default sample), press Predict and
    return the status text once it contains ``expect``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, timeout)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#upload input[type=file]")))
    if path is not None:
        driver.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(path))
        # the file list shows the name split in stem and suffix
        wait.until(ec.text_to_be_present_in_element((By.ID, "upload"), path.stem))
    driver.find_element(By.ID, "predict").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), expect))
    return driver.find_element(By.ID, "status").text


def _plot_width(driver, elem_id: str) -> int:
    return int(
        driver.execute_script(
            "const img = document.querySelector(arguments[0]);"
            "return img && img.complete ? img.naturalWidth : 0;",
            f"#{elem_id} img",
        )
    )


def test_demo_page_predicts_uploaded_clip(tmp_path, sample):
    _require()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    clip = sample["clip"]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all\n" * 20)

    with _server(tmp_path) as (url, proc, log):
        # while the server starts: what the Python API predicts for the same clip
        from mmemo.predict import Predictor

        expected = Predictor.from_pretrained("default").predict(clip)
        _wait_for_server(url, proc, log)
        driver = _browser(tmp_path / "chromium-profile")
        try:
            status = _predict(driver, url, clip, "Predicted:")
            assert f"Predicted: {expected.emotion}" in status, status
            assert expected.emotion in driver.find_element(By.ID, "emotions").text
            rationale = driver.find_element(By.CSS_SELECTOR, "#rationale textarea")
            assert rationale.get_attribute("value") == expected.rationale
            cues = driver.find_element(By.CSS_SELECTOR, "#cues textarea").get_attribute("value")
            assert cues == expected.cues and "Voice:" in cues
            WebDriverWait(driver, 20).until(lambda d: _plot_width(d, "au-plot") > 100)
            WebDriverWait(driver, 20).until(lambda d: _plot_width(d, "prosody-plot") > 100)

            status = _predict(driver, url, broken, "Error:")
            assert "broken.mp4" in status, status
            assert "Predicted" not in status
            assert proc.poll() is None, "the server died on a bad file"

            # a long file: the emotion timeline (segments and their figure)
            from mmemo.data.samples import three_emotion_speech

            long = three_emotion_speech(tmp_path / "long_talk.wav")
            status = _predict(driver, url, long, "Predicted:", timeout=120)
            WebDriverWait(driver, 20).until(lambda d: _plot_width(d, "timeline-plot") > 100)
            seg = driver.find_element(By.CSS_SELECTOR, "#segments textarea")
            assert len(seg.get_attribute("value").splitlines()) == 3

            # no upload: the sample chosen in the list (the generated clip) is predicted
            status = _predict(driver, url, None, "Predicted:")
            assert f"Predicted: {expected.emotion} (sample clip" in status, status

            # the browser's own chrome:// pages are not the demo's; data:/blob: are local
            host = urlsplit(url).netloc
            requested = _requested_urls(driver)
            assert any(urlsplit(u).netloc == host for u in requested), "no network log"
            outside = {
                u
                for u in requested
                if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).netloc != host
            }
            assert not outside, f"the page requested URLs off localhost: {sorted(outside)}"
        finally:
            driver.quit()
