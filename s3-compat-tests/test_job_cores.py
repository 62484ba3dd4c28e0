"""Image jobs and the cores they are bound to (`processing.pin_jobs`, on by
default; src/images/cores.rs): a job binds its own thread to a core while it
runs, and nothing it leaves behind stays bound. A thread created during a
job inherits the job's single core, so a pool an encoder started lazily
(rayon's, once used for AVIF) would keep every later encode on that core."""

from __future__ import annotations

from pathlib import Path

import pytest

from process_fixtures import make_png
from s3util import signed_request


def allowed_cpus(task: Path) -> str:
    for line in (task / "status").read_text().splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split()[1]
    raise AssertionError(f"no Cpus_allowed_list in {task}/status")


def assert_no_thread_bound(server, what: str) -> None:
    """Every thread of the server has the process's affinity (the main
    thread's, which is never bound)."""
    tasks = Path(f"/proc/{server.proc.pid}/task")
    process = allowed_cpus(tasks / str(server.proc.pid))
    bound = {}
    for task in tasks.iterdir():
        try:
            cpus = allowed_cpus(task)
            name = (task / "comm").read_text().strip()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        if cpus != process:
            bound[f"{name}/{task.name}"] = cpus
    assert not bound, f"threads still bound after {what} (process: {process}): {bound}"


def process(endpoint: str, bucket: str, key: str, pipeline: str) -> bytes:
    r = signed_request(endpoint, "GET", f"/{bucket}/{key}",
                       query=[("x-oss-process", f"image/{pipeline}")])
    assert r.status_code == 200, r.text
    assert len(r.content) > 0
    return r.content


@pytest.fixture
def local_server(server):
    proc = getattr(server, "proc", None)
    if proc is None or not Path(f"/proc/{proc.pid}/task").is_dir():
        pytest.skip("needs the server as a local Linux process")
    return server


@pytest.mark.parametrize("output", ["avif", "heic", "webp", "jpg"])
def test_no_thread_stays_bound_after_encoding(local_server, endpoint, s3, bucket, output):
    s3.put_object(Bucket=bucket, Key="src.png", Body=make_png(640, 480))
    for _ in range(3):
        process(endpoint, bucket, "src.png", f"resize,w_200/format,{output}")
    assert_no_thread_bound(local_server, f"{output} encodes")


@pytest.mark.parametrize("source", ["avif", "heic"])
def test_no_thread_stays_bound_after_decoding(local_server, endpoint, s3, bucket, source):
    """AVIF and HEIC sources go through libheif and its decoder plugins."""
    s3.put_object(Bucket=bucket, Key="src.png", Body=make_png(640, 480))
    encoded = process(endpoint, bucket, "src.png", f"format,{source}")
    s3.put_object(Bucket=bucket, Key=f"src.{source}", Body=encoded)
    for _ in range(3):
        process(endpoint, bucket, f"src.{source}", "resize,w_200/format,jpg")
    assert_no_thread_bound(local_server, f"{source} decodes")
