"""Users, keys and ownership with three users (admin, alice, bob), as a
user runs them: `imgbucket admin user ...` against the running server,
then boto3 as each user. Runs in embedded and in gateway mode (users live
in the store, so every node sees them)."""

from __future__ import annotations

import base64
import os
import re
import subprocess

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_client
from process_fixtures import make_png
from s3util import (ACCESS_KEY, SECRET_KEY, Server, assert_client_error, binary_path,
                    signed_request, unique_name)

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def admin_cli(endpoint: str, *args: str, keys=(ACCESS_KEY, SECRET_KEY)) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("IMGBUCKET_") and not k.startswith("AWS_")}
    env.update(IMGBUCKET_ENDPOINT=endpoint, IMGBUCKET_ACCESS_KEY=keys[0],
               IMGBUCKET_SECRET_KEY=keys[1])
    return subprocess.run([str(binary_path()), "admin", "user", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def keys_of(out: str) -> tuple[str, str]:
    found = dict(re.findall(r"^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(\S+)$", out, re.M))
    return found["AWS_ACCESS_KEY_ID"], found["AWS_SECRET_ACCESS_KEY"]


def add_user(endpoint: str, hint: str):
    name = unique_name(hint)[:30]
    done = admin_cli(endpoint, "add", name)
    assert done.returncode == 0, done.stderr
    ak, sk = keys_of(done.stdout)
    return name, make_client(endpoint, access_key=ak, secret_key=sk), (ak, sk)


@pytest.fixture(scope="module")
def alice(endpoint):
    return add_user(endpoint, "alice")


@pytest.fixture(scope="module")
def bob(endpoint):
    return add_user(endpoint, "bob")


def test_admin_cli_adds_lists_rotates_and_removes(endpoint):
    name, client, (ak, sk) = add_user(endpoint, "dave")
    assert client.list_buckets()["Owner"]["DisplayName"] == name
    listed = admin_cli(endpoint, "list")
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout and ak in listed.stdout
    assert sk not in listed.stdout, "a secret was listed"
    # A second user of the same name is refused.
    again = admin_cli(endpoint, "add", name)
    assert again.returncode != 0 and "UserAlreadyExists" in again.stderr
    # Rotation: the old key stops at once, the new one works.
    rotated = admin_cli(endpoint, "rotate", name)
    assert rotated.returncode == 0, rotated.stderr
    ak2, sk2 = keys_of(rotated.stdout)
    assert ak2 != ak
    with pytest.raises(ClientError) as e:
        client.list_buckets()
    assert_client_error(e, 403, "InvalidAccessKeyId")
    fresh = make_client(endpoint, access_key=ak2, secret_key=sk2)
    fresh.list_buckets()
    removed = admin_cli(endpoint, "remove", name)
    assert removed.returncode == 0, removed.stderr
    with pytest.raises(ClientError) as e:
        fresh.list_buckets()
    assert_client_error(e, 403, "InvalidAccessKeyId")
    gone = admin_cli(endpoint, "remove", name)
    assert gone.returncode != 0 and "NoSuchUser" in gone.stderr


def test_only_admins_call_the_admin_api(endpoint, alice):
    _, _, keys = alice
    refused = admin_cli(endpoint, "list", keys=keys)
    assert refused.returncode != 0 and "403 AccessDenied" in refused.stderr
    r = requests.get(f"{endpoint}/-/admin/users", timeout=10)
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    r = requests.get(f"{endpoint}/-/nothing-here", timeout=10)
    assert r.status_code == 404 and "<Code>NoSuchResource</Code>" in r.text


def test_a_users_private_bucket_is_its_own(s3, alice, bob):
    alice_name, a, _ = alice
    bob_name, b, _ = bob
    name = unique_name("alice-private")
    a.create_bucket(Bucket=name)
    a.put_object(Bucket=name, Key="k", Body=b"alice's")
    # Bob can neither read, list, write nor delete it.
    for call in (lambda: b.get_object(Bucket=name, Key="k"),
                 lambda: b.list_objects_v2(Bucket=name),
                 lambda: b.put_object(Bucket=name, Key="x", Body=b"bob"),
                 lambda: b.delete_object(Bucket=name, Key="k"),
                 lambda: b.delete_bucket(Bucket=name),
                 lambda: b.get_bucket_acl(Bucket=name)):
        with pytest.raises(ClientError) as e:
            call()
        assert_client_error(e, 403, "AccessDenied")
    # Nor take its name; Alice re-creating it in us-east-1 is AWS's legacy 200.
    with pytest.raises(ClientError) as e:
        b.create_bucket(Bucket=name)
    assert_client_error(e, 409, "BucketAlreadyExists")
    a.create_bucket(Bucket=name)
    assert a.get_object(Bucket=name, Key="k")["Body"].read() == b"alice's"
    # Listings: each user sees their own buckets, and owners are named.
    mine = a.list_buckets()
    assert name in [x["Name"] for x in mine["Buckets"]]
    assert mine["Owner"]["DisplayName"] == alice_name
    assert HEX64.match(mine["Owner"]["ID"])
    assert name not in [x["Name"] for x in b.list_buckets()["Buckets"]]
    assert name not in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    listed = a.list_objects_v2(Bucket=name, FetchOwner=True)["Contents"][0]
    assert listed["Owner"] == mine["Owner"]
    acl = a.get_bucket_acl(Bucket=name)
    assert acl["Owner"] == mine["Owner"]
    # The admin reaches every bucket.
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"alice's"


def test_public_read_lets_others_read_only(alice, bob):
    _, a, _ = alice
    _, b, _ = bob
    name = unique_name("alice-public")
    a.create_bucket(Bucket=name, ACL="public-read")
    a.put_object(Bucket=name, Key="k", Body=b"shared")
    assert b.get_object(Bucket=name, Key="k")["Body"].read() == b"shared"
    assert [o["Key"] for o in b.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
    with pytest.raises(ClientError) as e:
        b.put_object(Bucket=name, Key="x", Body=b"bob")
    assert_client_error(e, 403, "AccessDenied")


def test_copy_needs_read_access_to_the_source(alice, bob):
    _, a, _ = alice
    _, b, _ = bob
    private = unique_name("alice-src")
    a.create_bucket(Bucket=private)
    a.put_object(Bucket=private, Key="secret", Body=b"s")
    mine = unique_name("bob-dst")
    b.create_bucket(Bucket=mine)
    with pytest.raises(ClientError) as e:
        b.copy_object(Bucket=mine, Key="stolen", CopySource={"Bucket": private, "Key": "secret"})
    assert_client_error(e, 403, "AccessDenied")
    upload = b.create_multipart_upload(Bucket=mine, Key="mp")["UploadId"]
    with pytest.raises(ClientError) as e:
        b.upload_part_copy(Bucket=mine, Key="mp", UploadId=upload, PartNumber=1,
                           CopySource={"Bucket": private, "Key": "secret"})
    assert_client_error(e, 403, "AccessDenied")
    b.abort_multipart_upload(Bucket=mine, Key="mp", UploadId=upload)
    # Bob's own objects copy as before.
    b.put_object(Bucket=mine, Key="own", Body=b"o")
    b.copy_object(Bucket=mine, Key="own2", CopySource={"Bucket": mine, "Key": "own"})


def test_processing_follows_the_same_rules(alice, bob, endpoint):
    _, a, (ak, sk) = alice
    _, b, _ = bob
    name = unique_name("alice-img")
    a.create_bucket(Bucket=name)
    a.put_object(Bucket=name, Key="p.png", Body=make_png(64, 48), ContentType="image/png")
    process = {"x-oss-process": "image/resize,w_16"}
    r = signed_request(endpoint, "GET", f"/{name}/p.png", query=process,
                       access_key=ak, secret_key=sk)
    assert r.status_code == 200, r.text
    _, _, (bk, bs) = bob
    r = signed_request(endpoint, "GET", f"/{name}/p.png", query=process,
                       access_key=bk, secret_key=bs)
    assert r.status_code == 403, r.text
    # saveas into another user's bucket is refused.
    theirs = unique_name("bob-target")
    b.create_bucket(Bucket=theirs)
    def enc(s: str) -> str:
        return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")
    body = f"x-oss-process=image/resize,w_16|sys/saveas,o_{enc('out.png')},b_{enc(theirs)}"
    r = signed_request(endpoint, "POST", f"/{name}/p.png", query={"x-oss-process": None},
                       body=body.encode(), access_key=ak, secret_key=sk)
    assert r.status_code == 403, r.text
    with pytest.raises(ClientError):
        b.head_object(Bucket=theirs, Key="out.png")


@pytest.mark.embedded_only("the config file's users are the same in both modes; one server is enough")
def test_config_file_users(tmp_path):
    config = tmp_path / "imgbucket.toml"
    config.write_text(
        '[[users]]\nname = "carol"\naccess_key = "CAROLKEY0001"\n'
        'secret_key = "carol-secret-0123456789"\n')
    srv = Server(tmp_path / "data", tmp_path / "server.log",
                 extra_args=["--config", str(config)]).start()
    try:
        c = make_client(srv.endpoint, access_key="CAROLKEY0001",
                        secret_key="carol-secret-0123456789")
        name = unique_name("carol")
        c.create_bucket(Bucket=name)
        assert c.list_buckets()["Owner"]["DisplayName"] == "carol"
        refused = admin_cli(srv.endpoint, "remove", "carol")
        assert refused.returncode != 0 and "UserNotManaged" in refused.stderr
    finally:
        srv.stop()
    # A secret too short to be safe is refused at start-up, with the reason.
    config.write_text('[[users]]\nname = "eve"\naccess_key = "EVEKEY01"\nsecret_key = "short"\n')
    bad = subprocess.run([str(binary_path()), "serve", "--addr", "127.0.0.1:0", "--data",
                          str(tmp_path / "d2"), "--config", str(config)],
                         env={**os.environ, "IMGBUCKET_ACCESS_KEY": ACCESS_KEY,
                              "IMGBUCKET_SECRET_KEY": SECRET_KEY},
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "shorter than 16" in bad.stderr
