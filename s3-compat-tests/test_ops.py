"""The operator's endpoints against the built binary (docs/monitoring.md):
health probes and the Prometheus metrics, read with plain `requests`
as a load balancer and a Prometheus server would, after a few boto3
operations and a thumbnail request."""

from __future__ import annotations

import re
import time

import requests

from process_fixtures import make_png
from s3util import signed_request


def sample(text: str, series: str) -> float:
    """The value of `series` (name and labels as written) in an exposition
    text; 0 when absent."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if name == series:
            return float(value)
    return 0.0


def scrape(endpoint: str) -> str:
    r = requests.get(f"{endpoint}/-/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


def test_health_endpoints(endpoint):
    live = requests.get(f"{endpoint}/-/health/live", timeout=10)
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    ready = requests.get(f"{endpoint}/-/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["store"]["ok"] is True
    assert ready.headers["Cache-Control"] == "no-store"
    assert requests.post(f"{endpoint}/-/health/ready", timeout=10).status_code == 405


def test_metrics_count_requests_and_processing(endpoint, s3, bucket):
    before = scrape(endpoint)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    for _ in range(3):
        assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"hello"
    s3.put_object(Bucket=bucket, Key="p.png", Body=make_png(64, 48),
                  ContentType="image/png")
    thumb = signed_request(endpoint, "GET", f"/{bucket}/p.png",
                           query={"x-oss-process": "image/resize,w_16"})
    assert thumb.status_code == 200, thumb.text
    # The access line and its metrics are written once the body is sent.
    time.sleep(0.2)
    after = scrape(endpoint)

    def moved(series: str) -> float:
        return sample(after, series) - sample(before, series)

    assert moved('imgbucket_requests_total{op="GetObject",status="2xx"}') >= 3
    assert moved('imgbucket_requests_total{op="PutObject",status="2xx"}') >= 2
    assert moved('imgbucket_request_duration_seconds_count{family="image"}') >= 1
    assert moved("imgbucket_received_bytes_total") >= 5
    assert moved("imgbucket_sent_bytes_total") >= 15 + len(thumb.content)
    assert moved("imgbucket_image_jobs_started_total") >= 1
    assert moved('imgbucket_image_jobs_ended_total{result="completed"}') >= 1
    assert sample(after, "process_resident_memory_bytes") > 1e6
    assert sample(after, "process_open_fds") >= 3
    assert re.search(r"^# TYPE imgbucket_request_duration_seconds histogram$",
                     after, re.M)


def test_admin_credentials_source_is_logged_and_short_secrets_refused(tmp_path):
    """At start-up the log says where the admin's keys came from, warns when
    they override a generated key file, and a secret under 16 characters
    stops the server with the reason."""
    import os
    import subprocess

    from s3util import ACCESS_KEY, Server, binary_path

    data = tmp_path / "data"
    # First start without keys: a key pair is generated into the data dir.
    gen = Server(data, tmp_path / "gen.log", with_keys=False)
    gen.start()
    gen.stop()
    assert "admin credentials from a key pair generated now" in gen.log_text()
    # Environment keys win over that file, and the log says so.
    srv = Server(data, tmp_path / "env.log")
    srv.start()
    srv.stop()
    log = srv.log_text()
    assert "admin credentials from the environment" in log, log
    assert "credentials.toml exists but is ignored" in log, log
    bad = subprocess.run(
        [str(binary_path()), "serve", "--addr", "127.0.0.1:0", "--data", str(tmp_path / "d2")],
        env={**os.environ, "IMGBUCKET_ACCESS_KEY": ACCESS_KEY,
             "IMGBUCKET_SECRET_KEY": "too-short-key"},
        capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0
    assert "shorter than 16 characters" in bad.stderr, bad.stderr
    assert "the environment" in bad.stderr, bad.stderr
