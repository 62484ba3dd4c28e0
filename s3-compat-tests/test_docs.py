"""Executable docs: every snippet of README.md and docs/*.md that a user
could paste is run here, in order, against a fresh server per page, and the
output it claims is checked. A broken snippet fails with its file and line.

What runs, by fence language:
* `sh` / `bash`: one bash per page, so variables carry from one fence to the
  next as in a terminal; each fence runs under `set -eo pipefail`, and
  `curl` runs as `curl --fail-with-body` (an HTTP error is a failure, not a
  body saved under an image's name).
* `python`: each fence on its own, with the suite's venv, which has plain
  `boto3` (no awscrt), as `pip install boto3` gives.
* `toml`: checked with `imgbucket check-config`.
* anything else (`xml`, `json`, output blocks...) is not run.

What output is checked: `# → text`, trailing or on its own line, in either
language. The output (Python: standard output; shell: both streams) holds
each `text`, in order; `…` or `...` inside an expected text matches anything.

Markers, an HTML comment on the line(s) right before a fence:
* `<!-- doc-test: skip REASON -->`: not run (the reason is required);
* `<!-- doc-test: background -->`: a shell fence that starts a server; it
  runs in the background until the page is done, and the next fence waits
  for its port;
* `<!-- doc-test: expect-error -->`: `curl` keeps its plain behaviour, for
  fences that show an error answer.
* `<!-- doc-test: expect TEXT -->`: the output holds TEXT.

Substituted, and nothing else: `127.0.0.1:9000` (and `localhost:9000`)
becomes the page's server, other `127.0.0.1:9NNN` ports free ones; the `...`
placeholders of key pairs become the suite's keys, which are also in the
environment (`AWS_ACCESS_KEY_ID`, `IMGBUCKET_ACCESS_KEY`, ...) as a user's
shell has them after the README; `IMGBUCKET_ENDPOINT` names the page's
server, where the client subcommands' default (`127.0.0.1:9000`) would. The working directory holds the files the
pages upload (`cat.jpg`, `cat.png`, `f1.jpg`, `wm/logo.png`) and
`./target/release/imgbucket`, the binary under test.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import make_client
from process_fixtures import make_png
from s3util import (ACCESS_KEY, REGION, SECRET_KEY, Server, binary_path, free_port,
                    signed_request)

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
RUN_LANGS = {"sh", "bash", "python", "toml"}

pytestmark = pytest.mark.embedded_only("the docs run once, against the embedded store")


@dataclass
class Snippet:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    markers: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    def marker(self, name: str) -> str | None:
        for m in self.markers:
            if m == name or m.startswith(name + " "):
                return m[len(name):].strip()
        return None


def snippets_of(page: Path) -> list[Snippet]:
    lines = page.read_text().split("\n")
    out: list[Snippet] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{page.relative_to(ROOT)}:{start + 1}: unclosed fence")
        markers = []
        k = start - 1
        while k >= 0 and MARKER.match(lines[k]):
            markers.insert(0, MARKER.match(lines[k]).group(1))
            k -= 1
        out.append(Snippet(page, start + 1, lang, "\n".join(lines[start + 1:j]), markers))
        i = j + 1
    return out


def test_markers_are_known_and_skips_give_a_reason():
    known = ("skip", "background", "expect-error", "expect")
    for page in PAGES:
        for s in snippets_of(page):
            for m in s.markers:
                name = m.split(" ", 1)[0]
                assert name in known, f"{s.where}: unknown doc-test marker {m!r}"
                if name == "skip":
                    assert s.marker("skip"), f"{s.where}: a skip needs a reason"


# --- expected output ---------------------------------------------------------

def expectations(s: Snippet) -> list[str]:
    found = []
    for line in s.text.split("\n"):
        m = re.search(r"#\s*→\s*(.+?)\s*$", line)
        if m:
            found.append(m.group(1))
    found += [s.marker("expect")] if s.marker("expect") else []
    return found


def check_output(s: Snippet, output: str) -> None:
    """Each expected text, in order; `…`/`...` match anything."""
    pos = 0
    for want in expectations(s):
        pieces = [p for p in re.split(r"…|\.\.\.", want) if p]
        pattern = ".*?".join(re.escape(p) for p in pieces)
        m = re.compile(pattern).search(output, pos)
        assert m, (f"{s.where}: the output does not show {want!r} "
                   f"(after offset {pos}):\n{output[-3000:]}")
        pos = m.end()


# --- substitution --------------------------------------------------------------

def substitute(text: str, ports: dict[str, int]) -> str:
    def port(m: re.Match) -> str:
        return f"{m.group(1)}:{ports.setdefault(m.group(2), free_port())}"
    text = re.sub(r"\b(127\.0\.0\.1|localhost):(9\d\d\d)\b", port, text)
    # The COS SDK takes the port apart from the host.
    text = re.sub(r"\bPort=(9\d\d\d)\b", lambda m: f"Port={ports.setdefault(m.group(1), free_port())}", text)
    text = re.sub(r"(AWS_ACCESS_KEY_ID|IMGBUCKET_ACCESS_KEY)=\.\.\.", rf"\1={ACCESS_KEY}", text)
    text = re.sub(r"(AWS_SECRET_ACCESS_KEY|IMGBUCKET_SECRET_KEY)=\.\.\.",
                  rf"\1={SECRET_KEY}", text)
    text = re.sub(r'(aws_access_key_id\s*=\s*)"[^"]*\.\.\."', rf'\1"{ACCESS_KEY}"', text)
    text = re.sub(r'(aws_secret_access_key\s*=\s*)"\.\.\."', rf'\1"{SECRET_KEY}"', text)
    return text


# --- the page's world ------------------------------------------------------------

def make_files(work: Path, endpoint: str) -> None:
    """The files the pages upload: a 400×300 JPEG and PNG (us3.md states
    sizes from it) and a logo for watermarks. The JPEG is made by the
    server under test from the PNG, so the suite needs no image library."""
    png = make_png(400, 300)
    (work / "cat.png").write_bytes(png)
    (work / "wm").mkdir()
    (work / "wm" / "logo.png").write_bytes(make_png(50, 50, (0, 0, 0), (255, 255, 255)))
    s3 = make_client(endpoint)
    s3.create_bucket(Bucket="docs-fixtures")
    s3.put_object(Bucket="docs-fixtures", Key="cat.png", Body=png)
    jpeg = signed_request(endpoint, "GET", "/docs-fixtures/cat.png",
                          query={"x-oss-process": "image/format,jpg"})
    assert jpeg.status_code == 200, jpeg.text
    for name in ("cat.jpg", "f1.jpg", "photo.jpg"):
        (work / name).write_bytes(jpeg.content)
    s3.delete_object(Bucket="docs-fixtures", Key="cat.png")
    s3.delete_bucket(Bucket="docs-fixtures")


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


SHELL_PRELUDE = r"""
curl() { command curl --fail-with-body "$@"; }
"""


class PageRun:
    def __init__(self, page: Path, tmp: Path):
        self.page = page
        self.tmp = tmp
        self.work = tmp / "work"
        self.work.mkdir()
        self.server = Server(tmp / "data", tmp / "server.log")
        self.server.start()
        self.ports = {"9000": self.server.port}
        self.background: list[subprocess.Popen] = []
        home = tmp / "home"
        home.mkdir()
        bindir = self.work / "target" / "release"
        bindir.mkdir(parents=True)
        (bindir / "imgbucket").symlink_to(binary_path())
        venv_bin = Path(sys.executable).parent
        self.env = {
            "HOME": str(home),
            "PATH": f"{bindir}:{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "IMGBUCKET_ACCESS_KEY": ACCESS_KEY,
            "IMGBUCKET_SECRET_KEY": SECRET_KEY,
            "IMGBUCKET_ENDPOINT": self.server.endpoint,
            "PYTHONUNBUFFERED": "1",
        }
        self.state = tmp / "shell-state.sh"
        self.state.write_text("")
        baseline = subprocess.run(["bash", "-c", "compgen -v"], env=self.env,
                                  capture_output=True, text=True, check=True).stdout
        self.baseline = tmp / "shell-baseline"
        self.baseline.write_text(baseline + "rc\nBASH_REMATCH\n")
        make_files(self.work, self.server.endpoint)

    def close(self):
        for p in self.background:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(p.pid, sig)
                    p.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.server.stop()

    def run(self, s: Snippet) -> None:
        text = substitute(s.text, self.ports)
        if s.lang == "toml":
            f = self.tmp / "snippet.toml"
            f.write_text(text)
            done = subprocess.run([str(binary_path()), "check-config", str(f)],
                                  capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, f"{s.where}: TOML refused: {done.stderr}"
            return
        if s.lang == "python":
            f = self.tmp / "snippet.py"
            f.write_text(text)
            cmd = [sys.executable, str(f)]
        else:
            prelude = "" if s.marker("expect-error") is not None else SHELL_PRELUDE
            script = (
                f"source {self.state}\n"
                f"trap 'rc=$?; declare -p $(compgen -v | grep -vxF -f {self.baseline}) "
                f"> {self.state} 2>/dev/null; exit $rc' EXIT\n"
                f"{prelude}\nset -eo pipefail\n{text}\n")
            f = self.tmp / "snippet.sh"
            f.write_text(script)
            cmd = ["bash", str(f)]
        if s.marker("background") is not None:
            log = open(self.tmp / f"background-{s.line}.log", "wb")
            # Its own process group, so that closing the page stops the
            # server the script started, not only the script.
            self.background.append(subprocess.Popen(
                cmd, cwd=self.work, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
            for port in re.findall(r"127\.0\.0\.1:(\d+)", text):
                if int(port) not in (self.server.port,):
                    wait_port(int(port))
            return
        # Shell: both streams, interleaved as a terminal shows them (rclone
        # reports on stderr). Python: what it prints, apart from tracebacks.
        done = subprocess.run(cmd, cwd=self.work, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE if s.lang == "python" else subprocess.STDOUT,
                              text=True, timeout=300)
        output = done.stdout + (done.stderr or "")
        assert done.returncode == 0, (
            f"{s.where}: {s.lang} snippet failed (exit {done.returncode}):\n"
            f"{text}\n--- output ---\n{output[-4000:]}")
        check_output(s, done.stdout)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_snippets_run(page, tmp_path):
    runnable = [s for s in snippets_of(page) if s.lang in RUN_LANGS and s.marker("skip") is None]
    if not runnable:
        pytest.skip("no runnable snippet")
    run = PageRun(page, tmp_path)
    try:
        for s in runnable:
            run.run(s)
    finally:
        run.close()
