"""The web console (`/-/console/`) in a real browser: Debian's chromium,
headless, driven through selenium and chromedriver, against the built
binary (and, in gateway mode, a node over Garage).

One walk through what a person does: a wrong secret is refused with the
S3 error; sign in; create a bucket; upload two images at once (one over
the console's multipart threshold); browse them and their headers;
upload with Pic-Operations rules and browse into the folders the outputs
made; open the style editor, type an OSS resize and see the preview's size, switch
to the COS spelling, save it as a style; make the bucket public and fetch
the style with plain HTTP; delete everything through the console; glance
at the status and users screens; sign out.
The test fails on any error in the browser's console.

With `IMGBUCKET_CONSOLE_SCREENSHOTS=1` it also writes docs/console-*.png
(1280×800) of the main screens.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
import requests

from process_fixtures import image_size, make_png
from s3util import ACCESS_KEY, SECRET_KEY, unique_name

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromium-driver are not installed (./test.sh installs them)")

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (NoSuchElementException,  # noqa: E402
                                        StaleElementReferenceException, TimeoutException)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHOTS = os.environ.get("IMGBUCKET_CONSOLE_SCREENSHOTS") == "1"
# The console's MULTIPART_THRESHOLD (src/front/console/upload.js).
MULTIPART_THRESHOLD = 8 * 1024 * 1024


def noise_png(width: int, height: int) -> bytes:
    """An RGB PNG of incompressible noise: big for its size in pixels."""
    row = width * 3
    raw = b"".join(b"\x00" + os.urandom(row) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def images(tmp: Path) -> tuple[Path, Path]:
    """A small image and one over the multipart threshold: photos of the
    shared corpus when it is beside the repository (nicer screenshots),
    otherwise generated PNGs."""
    corpus = REPO.parent / "shared" / "corpus" / "jpeg"
    small, big = corpus / "bridge-4352x2448.jpg", corpus / "elephants-5640x3172-progressive.jpg"
    if small.is_file() and big.is_file() and big.stat().st_size > MULTIPART_THRESHOLD:
        out = []
        for src, name in ((small, "bridge.jpg"), (big, "elephants.jpg")):
            dst = tmp / name
            shutil.copyfile(src, dst)
            out.append(dst)
        return out[0], out[1]
    a, b = tmp / "two-colours.png", tmp / "noise.png"
    a.write_bytes(make_png(640, 400, (40, 110, 200), (240, 180, 40)))
    b.write_bytes(noise_png(1800, 1700))
    assert b.stat().st_size > MULTIPART_THRESHOLD
    return a, b


@pytest.fixture
def driver(server):
    if not hasattr(server, "log_path"):
        pytest.skip("S3_TEST_ENDPOINT set: another server has no console")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1280,800",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    d.set_window_size(1280, 800)
    yield d
    d.quit()


class Console:
    """The console in one browser tab, with waits and screenshots."""

    def __init__(self, driver, endpoint: str):
        self.d = driver
        self.endpoint = endpoint

    def wait(self, cond, timeout: float = 30, what: str = ""):
        try:
            # Screens are redrawn whole: an element found a moment ago may
            # be gone; the condition is then asked again.
            return WebDriverWait(self.d, timeout, ignored_exceptions=(
                StaleElementReferenceException, NoSuchElementException)).until(cond)
        except TimeoutException:
            body = self.d.find_element(By.TAG_NAME, "body").text[-1500:]
            raise AssertionError(f"timed out waiting for {what}; page:\n{body}\n"
                                 f"browser log: {self.d.get_log('browser')}") from None

    def el(self, css: str, timeout: float = 30):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, css)

    def click(self, css: str):
        def clicked(d):
            e = EC.element_to_be_clickable((By.CSS_SELECTOR, css))(d)
            if e:
                e.click()
            return bool(e)
        self.wait(clicked, 30, css)

    def accept_confirm(self):
        self.wait(EC.alert_is_present(), 10, "a confirmation").accept()

    def goto(self, hash_: str):
        """Opens a screen by its hash route and waits until it is drawn."""
        self.d.get(f"{self.endpoint}/-/console/{hash_}")
        self.wait(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-view")
                  == hash_, 60, f"the screen {hash_}")

    def heading(self, text: str):
        self.wait(lambda d: text in d.find_element(By.CSS_SELECTOR, "main h1").text, 30,
                  f"heading {text!r}")

    def type_into(self, css: str, text: str):
        e = self.el(css)
        e.clear()
        e.send_keys(text)
        return e

    def shot(self, name: str):
        if not SHOTS:
            return
        path = REPO / "docs" / f"console-{name}.png"
        raw = path.with_suffix(".raw.png")
        self.d.execute_script("window.scrollTo(0, 0); document.activeElement.blur(); "
                              "document.getElementById('toast').className = 'toast'")
        time.sleep(0.4)  # the toast's fade
        self.d.save_screenshot(str(raw))
        # Photos make a screenshot heavy: a 256-colour palette (ffmpeg is
        # installed for video frames) keeps it small enough to commit.
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(raw), "-vf",
                            "split[a][b];[a]palettegen=max_colors=256:stats_mode=full[p];"
                            "[b][p]paletteuse=dither=none", str(path)], check=True)
            raw.unlink()
        else:
            raw.replace(path)
        assert path.stat().st_size < 200_000, f"{path} is {path.stat().st_size} bytes"

    def errors(self) -> list[dict]:
        """The browser console's errors since the last call."""
        return [e for e in self.d.get_log("browser") if e["level"] == "SEVERE"]


def test_console_walkthrough(driver, endpoint, s3, tmp_path):
    c = Console(driver, endpoint)
    bucket = unique_name("console")
    small, big = images(tmp_path)
    try:
        walk(c, s3, endpoint, bucket, small, big)
    finally:
        # Whatever the console left behind.
        try:
            for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=o["Key"])
            s3.delete_bucket(Bucket=bucket)
        except Exception:
            pass


def walk(c: Console, s3, endpoint: str, bucket: str, small: Path, big: Path):
    d = c.d
    # A bare /-/console redirects to the page.
    d.get(f"{endpoint}/-/console")
    c.heading("Sign in")
    assert d.current_url == f"{endpoint}/-/console/"
    c.shot("signin")

    # A wrong secret: the S3 error, code and message, on the form.
    c.type_into("#access-key", ACCESS_KEY)
    c.type_into("#secret-key", "not-the-secret").send_keys(Keys.ENTER)
    err = c.el("#signin-error .error")
    assert "SignatureDoesNotMatch" in err.find_element(By.CSS_SELECTOR, ".code").text
    assert err.find_element(By.CSS_SELECTOR, ".message").text.strip()
    assert "HTTP 403" in err.text
    # The refused request is the only thing the browser complains about.
    refused = c.errors()
    assert all("403" in e["message"] for e in refused), refused
    assert d.execute_script("return sessionStorage.length") == 0

    # Sign in; the keys are in sessionStorage only.
    c.type_into("#secret-key", SECRET_KEY).send_keys(Keys.ENTER)
    c.heading("Buckets")
    stored = d.execute_script("return JSON.stringify(sessionStorage)")
    assert ACCESS_KEY in stored
    assert d.execute_script("return localStorage.length") == 0

    # Create a bucket.
    c.type_into("#new-bucket", bucket).send_keys(Keys.ENTER)
    c.el(f'tr[data-bucket="{bucket}"]')
    s3.head_bucket(Bucket=bucket)
    c.shot("buckets")

    # Upload two files at once through the file picker.
    c.click(f'tr[data-bucket="{bucket}"] a.bucket-link')
    c.heading("Objects in")
    picker = d.find_element(By.CSS_SELECTOR, "#file-input")
    picker.send_keys(f"{small}\n{big}")
    c.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#uploads li.done")) == 2, 120,
           "two finished uploads")
    states = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#uploads .state")]
    assert states.count("done") == 2, states
    for f in (small, big):
        head = s3.head_object(Bucket=bucket, Key=f.name)
        assert head["ContentLength"] == f.stat().st_size
    # The big one went multipart (its ETag counts its parts), the small one not.
    assert s3.head_object(Bucket=bucket, Key=big.name)["ETag"].strip('"').endswith("-2")
    assert "-" not in s3.head_object(Bucket=bucket, Key=small.name)["ETag"]

    # Browse: both listed, with thumbnails made by the server.
    c.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#objects tr.object")) == 2, 30,
           "two listed objects")
    c.wait(lambda d: all((i.get_attribute("src") or "").startswith("blob:")
                         and d.execute_script("return arguments[0].naturalWidth", i) == 96
                         for i in d.find_elements(By.CSS_SELECTOR, "img.thumb")), 60,
           "thumbnails 96 px wide")
    c.shot("objects")
    # Headers (HEAD) and a presigned link that plain HTTP can follow.
    c.click(f'tr[data-key="{small.name}"] button.info')
    c.wait(lambda d: "content-length" in d.find_element(By.ID, "object-headers").text.lower(), 30,
           "the object's headers")
    assert str(small.stat().st_size) in d.find_element(By.ID, "object-headers").text
    c.click("#make-link")
    link = c.wait(lambda d: d.find_element(By.ID, "presigned-url").get_attribute("value"), 10,
                  "a presigned link")
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=3600" in link
    got = requests.get(link, timeout=30)
    assert got.status_code == 200 and got.content == small.read_bytes()

    # Pic-Operations: an upload into a folder, whose rules write two outputs.
    c.goto(f"#/picops/{bucket}")
    c.heading("Pic-Operations")
    d.find_element(By.ID, "picops-file").send_keys(str(small))
    c.type_into("#picops-key", "picops/source" + small.suffix)
    c.click("#picops-send")
    c.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#picops-outputs li img[src^='blob:']")) == 2,
           60, "two outputs shown")
    assert "<UploadResult>" in d.find_element(By.CSS_SELECTOR, "#picops-result pre").text
    w200 = d.find_element(By.CSS_SELECTOR, '#picops-outputs li[data-key="picops/thumbs/w200.png"] img')
    c.wait(lambda d: d.execute_script("return arguments[0].naturalWidth", w200) == 200, 30,
           "the 200 px output")
    assert image_size(s3.get_object(Bucket=bucket, Key="picops/thumbs/w200.png")["Body"].read())[1] == 200
    # Browse into the folders the outputs made.
    c.goto(f"#/b/{bucket}")
    c.click('#objects tr.folder a[href*="prefix=picops%2F"]')
    c.el('tr[data-key="picops/source%s"]' % small.suffix)
    c.click('#objects tr.folder a[href*="prefix=picops%2Fthumbs%2F"]')
    c.el('tr[data-key="picops/thumbs/half.webp"]')
    assert "thumbs" in d.find_element(By.CSS_SELECTOR, "nav.crumbs").text
    c.goto(f"#/b/{bucket}")

    # The style editor, on the small image.
    c.click(f'tr[data-key="{small.name}"] a[href^="#/editor/"]')
    c.heading("Style editor")
    c.wait(lambda d: d.find_element(By.ID, "original").get_attribute("data-width"), 60,
           "the original")
    c.type_into("#process", "image/resize,w_200")
    c.wait(lambda d: d.find_element(By.ID, "processed").get_attribute("data-width") == "200",
           60, "a 200 px preview")
    assert "OSS" in d.find_element(By.ID, "dialect-used").text
    facts = d.find_element(By.ID, "processed-facts").text
    assert "200×" in facts and "image/" in facts, facts
    timing = d.find_element(By.CSS_SELECTOR, "#processed-facts .timing").text
    assert timing.endswith(" ms"), timing  # the server's Server-Timing
    # The same pipeline in the other dialects (?x-imgbucket-explain): COS
    # can write it, UCloud cannot (its thumbnails always may enlarge).
    cos = '#explain dd[data-dialect="cos"] code'
    c.wait(lambda d: d.find_elements(By.CSS_SELECTOR, cos)
           and d.find_element(By.CSS_SELECTOR, cos).text == "imageMogr2/thumbnail/200x>",
           30, "the COS spelling")
    us3 = d.find_element(By.CSS_SELECTOR, '#explain dd[data-dialect="us3"]').text
    assert "Cannot be written" in us3, us3
    # The same in COS's spelling.
    c.type_into("#process", "imageMogr2/thumbnail/150x")
    c.wait(lambda d: d.find_element(By.ID, "processed").get_attribute("data-width") == "150",
           60, "a 150 px preview")
    assert "COS" in d.find_element(By.ID, "dialect-used").text
    c.type_into("#style-name", "thumb150")
    c.click("#save-style")
    c.el('#editor-styles li[data-style="thumb150"]')
    c.shot("editor")
    assert c.errors() == []
    # A bad string: the dialect's own error, no preview.
    c.type_into("#process", "image/resize,w_abc")
    bad = c.el("#editor-error .error")
    assert "InvalidArgument" in bad.text, bad.text
    refused = c.errors()
    assert refused and all("400" in e["message"] for e in refused), refused

    # Make the bucket public and fetch the style with plain HTTP.
    c.goto(f"#/s/{bucket}")
    c.el('#styles tr[data-style="thumb150"]')
    c.click("#make-public")
    c.wait(lambda d: d.find_element(By.ID, "acl-state").text == "public-read", 30, "public-read")
    r = requests.get(f"{endpoint}/{bucket}/{small.name}?x-oss-process=style/thumb150", timeout=60)
    assert r.status_code == 200, r.text[:500]
    assert image_size(r.content)[1] == 150
    c.click("#make-private")
    c.wait(lambda d: d.find_element(By.ID, "acl-state").text == "private", 30, "private")
    assert requests.get(f"{endpoint}/{bucket}/{small.name}", timeout=30).status_code == 403

    # Delete everything through the console.
    for prefix in ("picops%2Fthumbs%2F", "picops%2F", ""):
        c.goto(f"#/b/{bucket}?prefix={prefix}")
        c.el("#objects")
        while d.find_elements(By.CSS_SELECTOR, "#objects tr.object"):
            row = d.find_element(By.CSS_SELECTOR, "#objects tr.object")
            key = row.get_attribute("data-key")
            c.click(f'tr[data-key="{key}"] button.delete-object')
            c.accept_confirm()
            c.wait(lambda d, k=key: not d.find_elements(By.CSS_SELECTOR, f'tr[data-key="{k}"]'),
                   30, f"{key} gone")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    # The status and users screens answer too.
    c.goto("#/status")
    c.wait(lambda d: "Requests since start" in d.find_element(By.ID, "status").text, 30, "status")
    c.goto("#/users")
    c.wait(lambda d: ACCESS_KEY in d.find_element(By.ID, "users").text, 30, "the users")
    c.goto("#/")
    c.click(f'tr[data-bucket="{bucket}"] button.delete-bucket')
    c.accept_confirm()
    c.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr[data-bucket="{bucket}"]'), 30,
           "the bucket gone")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    # Sign out: the keys are gone with the screen.
    c.click("#signout")
    c.heading("Sign in")
    assert d.execute_script("return sessionStorage.length") == 0
    assert c.errors() == []


def sign_in(c: Console, endpoint: str) -> None:
    c.d.get(f"{endpoint}/-/console/")
    c.type_into("#access-key", ACCESS_KEY)
    c.type_into("#secret-key", SECRET_KEY).send_keys(Keys.ENTER)
    c.heading("Buckets")


def test_cancelling_a_multipart_upload_aborts_it(driver, endpoint, s3, bucket, tmp_path):
    """Cancel, mid-way through a multipart upload (the browser's upload
    throttled so that it is mid-way long enough): the console aborts the
    upload, and nothing is left, neither object nor parts."""
    c = Console(driver, endpoint)
    _, big = images(tmp_path)
    sign_in(c, endpoint)
    c.goto(f"#/b/{bucket}")
    c.heading("Objects in")
    c.d.set_network_conditions(offline=False, latency=5, download_throughput=64 << 20,
                               upload_throughput=1 << 20)
    try:
        c.d.find_element(By.CSS_SELECTOR, "#file-input").send_keys(str(big))
        c.wait(lambda d: "multipart" in d.find_element(By.CSS_SELECTOR, "#uploads .state").text,
               30, "a multipart upload")
        c.wait(lambda d: s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), 30,
               "the upload created on the server")
        c.wait(lambda d: float(d.find_element(By.CSS_SELECTOR, "#uploads progress")
                               .get_attribute("value")) > 0, 30, "some progress")
        c.click("#uploads button")
        c.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#uploads .state").text == "cancelled",
               30, "cancelled")
    finally:
        c.d.delete_network_conditions()
    c.wait(lambda d: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), 30,
           "the upload aborted on the server")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    errors = c.errors()
    assert errors == [], errors
