"""Video frame snapshots over plain HTTP against the built binary: a 2 s
H.264 clip made at test time with ffmpeg's `testsrc` (a moving picture, so
frames at two times differ), stored with boto3, and its frames fetched with
OSS `video/snapshot` and COS `ci-process=snapshot`."""

from __future__ import annotations

import subprocess

import pytest

from process_fixtures import image_size


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=duration=2:size=320x240:rate=25", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out.read_bytes()


@pytest.fixture
def video_bucket(s3, bucket_name, clip):
    s3.create_bucket(Bucket=bucket_name, ACL="public-read")
    s3.put_object(Bucket=bucket_name, Key="clip.mp4", Body=clip, ContentType="video/mp4")
    return bucket_name


def test_oss_snapshot_frames_and_sizes(endpoint, video_bucket, anon):
    url = f"{endpoint}/{video_bucket}/clip.mp4?x-oss-process=video/snapshot,"
    a = anon.get(url + "t_500,f_png")
    assert a.status_code == 200, a.text
    assert a.headers["Content-Type"] == "image/png"
    assert image_size(a.content) == ("png", 320, 240)
    b = anon.get(url + "t_1500,f_png")
    assert image_size(b.content) == ("png", 320, 240)
    assert a.content != b.content
    r = anon.get(url + "t_1000,w_160,m_fast")
    assert r.headers["Content-Type"] == "image/jpeg"
    assert image_size(r.content) == ("jpeg", 160, 120)
    past = anon.get(url + "t_60000")
    assert past.status_code == 400
    assert "<Code>InvalidArgument</Code>" in past.text


def test_cos_snapshot(endpoint, video_bucket, anon):
    r = anon.get(f"{endpoint}/{video_bucket}/clip.mp4?ci-process=snapshot&time=1&width=64")
    assert r.status_code == 200, r.text
    assert image_size(r.content) == ("jpeg", 64, 48)
    r = anon.get(f"{endpoint}/{video_bucket}/clip.mp4?ci-process=snapshot")
    assert r.status_code == 400
    assert r.headers["X-ErrNo"] == "-106"
