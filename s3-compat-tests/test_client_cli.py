"""The client subcommands for what aws-cli cannot do (`imgbucket style`,
`image-config`, `process`, `presign`), run as a user runs them: the built
binary, with the endpoint and keys in aws-cli's environment variables.
Each result is checked through another client (boto3, plain HTTP), so the
CLI is not only checked against itself. Runs in embedded and gateway mode."""

from __future__ import annotations

import os
import subprocess

import pytest
import requests

from process_fixtures import image_size, make_png
from s3util import ACCESS_KEY, SECRET_KEY, binary_path, signed_request


def cli(endpoint: str, *args: str, keys=(ACCESS_KEY, SECRET_KEY), stdin: str | None = None,
        cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IMGBUCKET_") and not k.startswith("AWS_")}
    # What a shell set up for aws-cli has: nothing imgbucket-specific.
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=keys[0],
               AWS_SECRET_ACCESS_KEY=keys[1], AWS_DEFAULT_REGION="us-east-1")
    return subprocess.run([str(binary_path()), *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, (done.args, done.stdout, done.stderr)
    return done.stdout


@pytest.fixture
def photos(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/cat.png", Body=make_png(400, 300),
                  ContentType="image/png")
    return bucket


@pytest.mark.parametrize("dialect,body,use", [
    ("oss", "image/resize,w_100", "x-oss-process=style/{name}"),
    ("cos", "imageMogr2/thumbnail/100x", None),
    ("us3", "iopcmd=thumbnail&type=4&width=100", "iopstyle={name}"),
])
def test_style_put_get_list_delete_in_each_dialect(endpoint, photos, dialect, body, use):
    name = f"t-{dialect}"
    assert "stored style" in ok(cli(endpoint, "style", "put", "--dialect", dialect,
                                    photos, name, body))
    assert ok(cli(endpoint, "style", "get", "--dialect", dialect, photos, name)).strip() == body
    listed = ok(cli(endpoint, "style", "list", "--dialect", dialect, photos))
    assert f"{name}\t{body}" in listed.splitlines()
    # The style works for every client, by parameter where the dialect has
    # one, and by separator after image-config enables it.
    if use:
        param, value = use.format(name=name).split("=", 1)
        r = signed_request(endpoint, "GET", f"/{photos}/dir/cat.png", query={param: value})
        assert r.status_code == 200, r.text
        assert image_size(r.content)[1] == 100
    ok(cli(endpoint, "image-config", "put", photos, '{"separators": ["!"]}'))
    r = signed_request(endpoint, "GET", f"/{photos}/dir/cat.png!{name}")
    assert r.status_code == 200, r.text
    assert image_size(r.content)[1] == 100
    assert "deleted" in ok(cli(endpoint, "style", "delete", "--dialect", dialect, photos, name))
    gone = cli(endpoint, "style", "get", "--dialect", dialect, photos, name)
    assert gone.returncode != 0 and "404" in gone.stderr, gone.stderr


def test_style_put_infers_the_dialect_and_refuses_bad_content(endpoint, photos):
    ok(cli(endpoint, "style", "put", photos, "half", "imageMogr2/thumbnail/!50p"))
    # Stored through the COS API: visible there.
    assert "half\timageMogr2/thumbnail/!50p" in ok(
        cli(endpoint, "style", "list", "--dialect", "cos", photos))
    bad = cli(endpoint, "style", "put", photos, "bad", "image/slim,1")
    assert bad.returncode == 2
    assert "400 InvalidArgument" in bad.stderr, bad.stderr
    missing = cli(endpoint, "style", "list", "no-such-bucket-cli")
    assert missing.returncode == 2 and "404 NoSuchBucket" in missing.stderr, missing.stderr


def test_image_config_round_trip_from_stdin_and_file(endpoint, photos, tmp_path):
    doc = '{"separators": ["-"], "protect_source": true, "protected_suffixes": [".png"]}'
    ok(cli(endpoint, "image-config", "put", photos, "-", stdin=doc))
    got = ok(cli(endpoint, "image-config", "get", photos))
    assert '"protect_source": true' in got and '".png"' in got
    # Protection is on: anonymous plain GETs of .png are refused now.
    assert requests.get(f"{endpoint}/{photos}/dir/cat.png", timeout=30).status_code == 403
    f = tmp_path / "settings.json"
    f.write_text('{"separators": ["!"]}')
    ok(cli(endpoint, "image-config", "put", photos, f"@{f}"))
    assert '"protect_source": false' in ok(cli(endpoint, "image-config", "get", photos))
    bad = cli(endpoint, "image-config", "put", photos, '{"separators": ["?"]}')
    assert bad.returncode == 2 and "400" in bad.stderr, bad.stderr
    ok(cli(endpoint, "image-config", "delete", photos))
    assert '"separators": []' in ok(cli(endpoint, "image-config", "get", photos))


@pytest.mark.parametrize("query,fmt", [
    ("x-oss-process=image/resize,w_120/format,webp", "webp"),
    ("imageMogr2/thumbnail/120x/format/jpg", "jpeg"),
    ("iopcmd=thumbnail&type=4&width=120", "png"),
])
def test_process_fetches_a_signed_variant(endpoint, photos, tmp_path, query, fmt):
    out = tmp_path / "out"
    said = ok(cli(endpoint, "process", photos, "dir/cat.png", query, "-o", str(out)))
    assert str(out) in said and "bytes" in said
    kind, width, _ = image_size(out.read_bytes())
    assert (kind, width) == (fmt, 120)


def test_process_to_stdout_and_its_errors(endpoint, photos):
    done = subprocess.run(
        [str(binary_path()), "process", photos, "dir/cat.png", "x-oss-process=image/info"],
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
             "AWS_SECRET_ACCESS_KEY": SECRET_KEY}, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b'"ImageWidth"' in done.stdout
    bad = cli(endpoint, "process", photos, "dir/cat.png", "x-oss-process=image/slim,1")
    assert bad.returncode == 2 and "400 InvalidArgument" in bad.stderr, bad.stderr
    cos = cli(endpoint, "process", photos, "dir/cat.png", "imageMogr2/thumbnail/abc")
    assert cos.returncode == 2 and "400" in cos.stderr, cos.stderr
    wrong = cli(endpoint, "process", photos, "dir/cat.png", "x-oss-process=image/info",
                keys=(ACCESS_KEY, "not-the-secret-at-all"))
    assert wrong.returncode == 2 and "403 SignatureDoesNotMatch" in wrong.stderr, wrong.stderr


def test_presign_gives_a_url_anyone_can_open(endpoint, photos):
    url = ok(cli(endpoint, "presign", photos, "dir/cat.png",
                 "--process", "x-oss-process=image/resize,w_50", "--expires-in", "600")).strip()
    assert url.startswith(endpoint) and "X-Amz-Signature=" in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert image_size(r.content)[1] == 50
    plain = ok(cli(endpoint, "presign", photos, "dir/cat.png")).strip()
    assert requests.get(plain, timeout=30).content == make_png(400, 300)
    # The signature covers the processing query: changing it is refused.
    tampered = url.replace("w_50", "w_60")
    assert requests.get(tampered, timeout=30).status_code == 403
    too_long = cli(endpoint, "presign", photos, "k", "--expires-in", "604801")
    assert too_long.returncode == 2 and "expires-in" in too_long.stderr


def test_no_keys_is_a_clear_error(endpoint):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IMGBUCKET_") and not k.startswith("AWS_")}
    done = subprocess.run([str(binary_path()), "style", "list", "b"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "AWS_ACCESS_KEY_ID" in done.stderr
