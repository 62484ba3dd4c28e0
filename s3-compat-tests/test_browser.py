"""A real browser (Debian's chromium, headless) uploads a file the way a
web page does: a form made by boto3's `generate_presigned_post`, posted
from another origin with `fetch` and `FormData`, so that chromium itself
writes the multipart body and the CORS exchange, and the page reads the
answer only if the bucket's CORS rules allow it."""

from __future__ import annotations

import html
import http.server
import json
import shutil
import subprocess
import threading

import pytest

from s3util import free_port, parse_xml, xml_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(./test.sh installs it)")

PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
const form = %s;
const fd = new FormData();
for (const [k, v] of Object.entries(form.fields)) fd.append(k, v);
fd.append("file", new Blob(["hello from a browser"], {type: "text/plain"}), "hello.txt");
fetch(form.url, {method: "POST", body: fd})
  .then(async r => { document.getElementById("out").textContent = r.status + "\\n" + await r.text(); })
  .catch(e => { document.getElementById("out").textContent = "error " + e; });
</script></body></html>"""


def serve_page(body: str) -> tuple[str, http.server.HTTPServer]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def run_page(origin: str) -> str:
    """Loads the page headless and returns the text the script wrote."""
    out = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", "--virtual-time-budget=15000", "--dump-dom",
         f"{origin}/upload.html"],
        capture_output=True, text=True, timeout=120)
    start = out.stdout.find('<pre id="out">')
    end = out.stdout.find("</pre>", start)
    assert start >= 0, out.stderr[-2000:]
    return html.unescape(out.stdout[start + len('<pre id="out">'):end])


def test_a_browser_posts_a_presigned_form_across_origins(s3, bucket):
    form = s3.generate_presigned_post(
        bucket, "browser/${filename}",
        Fields={"success_action_status": "201", "Content-Type": "text/plain"},
        Conditions=[["starts-with", "$key", "browser/"], {"success_action_status": "201"},
                    {"Content-Type": "text/plain"}],
        ExpiresIn=600)
    origin, server = serve_page(PAGE % json.dumps(form))
    try:
        # Without a CORS rule the upload may land, but the page cannot
        # read the answer: the browser reports a network error.
        assert run_page(origin).startswith("error"), "read without CORS"
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [origin], "AllowedMethods": ["POST"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]}]})
        s3.delete_object(Bucket=bucket, Key="browser/hello.txt")
        text = run_page(origin)
    finally:
        server.shutdown()
    status, _, body = text.partition("\n")
    assert status == "201", text
    root = parse_xml(body.encode())
    assert xml_text(root, "Key") == "browser/hello.txt"
    got = s3.get_object(Bucket=bucket, Key="browser/hello.txt")
    assert got["Body"].read() == b"hello from a browser"
    assert got["ContentType"] == "text/plain"
