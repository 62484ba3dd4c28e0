"""ACLs and bucket policies with three users (admin, alice, bob) and
anonymous callers, through boto3 and the vendor SDK as users run them:
canned ACLs on buckets and objects, `x-amz-grant-*` headers and
`AccessControlPolicy` bodies, Get/Put of both ACLs, and
Put/Get/DeleteBucketPolicy with Allow, Deny and `aws:SourceIp`. Runs in
embedded and in gateway mode (ACLs and policies live in the store)."""

from __future__ import annotations

import json

import pytest
import requests
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from conftest import _empty_bucket, make_client
from s3util import assert_client_error, unique_name
from test_users import add_user

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


class Person:
    def __init__(self, endpoint: str, hint: str):
        self.name, self.s3, self.keys = add_user(endpoint, hint)
        self.id = self.s3.list_buckets()["Owner"]["ID"]


@pytest.fixture(scope="module")
def alice(endpoint):
    return Person(endpoint, "alice")


@pytest.fixture(scope="module")
def bob(endpoint):
    return Person(endpoint, "bob")


@pytest.fixture(scope="module")
def anon_s3(endpoint):
    return make_client(endpoint, signature_version=UNSIGNED)


@pytest.fixture
def alices_bucket(request, s3, alice):
    """A fresh private bucket of alice's, removed afterwards by the admin."""
    name = unique_name(request.node.name)
    alice.s3.create_bucket(Bucket=name)
    yield name
    _empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def denied(call, *args, **kw):
    with pytest.raises(ClientError) as e:
        call(*args, **kw)
    assert_client_error(e, 403, "AccessDenied")


def grants_of(acl: dict) -> set[tuple[str, str]]:
    out = set()
    for g in acl["Grants"]:
        who = g["Grantee"].get("ID") or g["Grantee"].get("URI")
        out.add((who, g["Permission"]))
    return out


def test_canned_bucket_acls_decide_who_lists_and_writes(alice, bob, anon_s3, alices_bucket):
    b = alices_bucket
    alice.s3.put_object(Bucket=b, Key="k", Body=b"alice's")
    # private: nobody else.
    denied(bob.s3.list_objects_v2, Bucket=b)
    denied(anon_s3.list_objects_v2, Bucket=b)
    denied(bob.s3.get_object, Bucket=b, Key="k")
    # authenticated-read: any signed user reads, strangers do not.
    alice.s3.put_bucket_acl(Bucket=b, ACL="authenticated-read")
    assert (AUTH_USERS, "READ") in grants_of(alice.s3.get_bucket_acl(Bucket=b))
    assert bob.s3.list_objects_v2(Bucket=b)["KeyCount"] == 1
    assert bob.s3.get_object(Bucket=b, Key="k")["Body"].read() == b"alice's"
    denied(anon_s3.list_objects_v2, Bucket=b)
    denied(bob.s3.put_object, Bucket=b, Key="bob", Body=b"x")
    # public-read-write: anyone writes; bob's object is bob's.
    alice.s3.put_bucket_acl(Bucket=b, ACL="public-read-write")
    acl = grants_of(alice.s3.get_bucket_acl(Bucket=b))
    assert {(ALL_USERS, "READ"), (ALL_USERS, "WRITE"), (alice.id, "FULL_CONTROL")} <= acl
    bob.s3.put_object(Bucket=b, Key="bob", Body=b"bob's")
    anon_s3.put_object(Bucket=b, Key="anon", Body=b"anyone's")
    assert anon_s3.get_object(Bucket=b, Key="k")["Body"].read() == b"alice's"
    bob_acl = bob.s3.get_object_acl(Bucket=b, Key="bob")
    assert bob_acl["Owner"]["ID"] == bob.id
    assert grants_of(bob_acl) == {(bob.id, "FULL_CONTROL")}
    # The bucket owner answers for everything in the bucket.
    assert alice.s3.get_object(Bucket=b, Key="bob")["Body"].read() == b"bob's"
    # Others cannot change the bucket's ACL, whatever they may write.
    denied(bob.s3.put_bucket_acl, Bucket=b, ACL="private")
    denied(bob.s3.get_bucket_acl, Bucket=b)
    alice.s3.put_bucket_acl(Bucket=b, ACL="private")
    denied(anon_s3.get_object, Bucket=b, Key="k")
    denied(bob.s3.put_object, Bucket=b, Key="bob2", Body=b"x")


def test_object_acls_and_the_bucket_default(alice, bob, anon_s3, endpoint, alices_bucket):
    b = alices_bucket
    alice.s3.put_object(Bucket=b, Key="open.txt", Body=b"open", ACL="public-read")
    alice.s3.put_object(Bucket=b, Key="closed.txt", Body=b"closed")
    assert requests.get(f"{endpoint}/{b}/open.txt").content == b"open"
    denied(anon_s3.get_object, Bucket=b, Key="closed.txt")
    # An object without an ACL of its own follows the bucket (as OSS and
    # COS); one with an explicit private ACL stays private.
    alice.s3.put_bucket_acl(Bucket=b, ACL="public-read")
    alice.s3.put_object(Bucket=b, Key="secret.txt", Body=b"s", ACL="private")
    assert anon_s3.get_object(Bucket=b, Key="closed.txt")["Body"].read() == b"closed"
    denied(anon_s3.get_object, Bucket=b, Key="secret.txt")
    assert grants_of(alice.s3.get_object_acl(Bucket=b, Key="secret.txt")) == {
        (alice.id, "FULL_CONTROL")}
    assert (ALL_USERS, "READ") in grants_of(alice.s3.get_object_acl(Bucket=b, Key="closed.txt"))
    # PutObjectAcl changes it in place; the bytes stay.
    alice.s3.put_object_acl(Bucket=b, Key="secret.txt", ACL="public-read")
    assert anon_s3.get_object(Bucket=b, Key="secret.txt")["Body"].read() == b"s"
    # Grants to a user by id, in headers and in a document.
    alice.s3.put_bucket_acl(Bucket=b, ACL="private")
    alice.s3.put_object_acl(Bucket=b, Key="closed.txt", GrantRead=f'id="{bob.id}"')
    assert bob.s3.get_object(Bucket=b, Key="closed.txt")["Body"].read() == b"closed"
    denied(bob.s3.get_object_acl, Bucket=b, Key="closed.txt")
    alice.s3.put_object_acl(Bucket=b, Key="closed.txt", AccessControlPolicy={
        "Owner": {"ID": alice.id},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": alice.id}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": bob.id}, "Permission": "READ_ACP"},
        ]})
    assert grants_of(bob.s3.get_object_acl(Bucket=b, Key="closed.txt")) == {
        (alice.id, "FULL_CONTROL"), (bob.id, "READ_ACP")}
    denied(bob.s3.get_object, Bucket=b, Key="closed.txt")
    denied(bob.s3.put_object_acl, Bucket=b, Key="closed.txt", ACL="public-read")
    # A missing key: 404 to whoever may list, 403 to others.
    with pytest.raises(ClientError) as e:
        alice.s3.get_object_acl(Bucket=b, Key="missing")
    assert_client_error(e, 404, "NoSuchKey")
    denied(bob.s3.get_object, Bucket=b, Key="missing")


def test_writes_into_another_users_bucket_by_grant(s3, alice, bob, alices_bucket):
    b = alices_bucket
    alice.s3.put_bucket_acl(Bucket=b, GrantWrite=f'id="{bob.id}"',
                            GrantFullControl=f'id="{alice.id}"')
    assert grants_of(alice.s3.get_bucket_acl(Bucket=b)) == {
        (bob.id, "WRITE"), (alice.id, "FULL_CONTROL")}
    bob.s3.put_object(Bucket=b, Key="drop.txt", Body=b"from bob",
                      ACL="bucket-owner-full-control")
    acl = alice.s3.get_object_acl(Bucket=b, Key="drop.txt")
    assert acl["Owner"]["ID"] == bob.id
    assert grants_of(acl) == {(bob.id, "FULL_CONTROL"), (alice.id, "FULL_CONTROL")}
    bob.s3.put_object(Bucket=b, Key="read.txt", Body=b"x", ACL="bucket-owner-read")
    assert grants_of(bob.s3.get_object_acl(Bucket=b, Key="read.txt")) == {
        (bob.id, "FULL_CONTROL"), (alice.id, "READ")}
    # WRITE lets bob write and delete keys, not list or read alice's.
    denied(bob.s3.list_objects_v2, Bucket=b)
    bob.s3.delete_object(Bucket=b, Key="read.txt")
    # A multipart upload is a write too, and its object is bob's.
    up = bob.s3.create_multipart_upload(Bucket=b, Key="big.bin")
    part = bob.s3.upload_part(Bucket=b, Key="big.bin", UploadId=up["UploadId"],
                              PartNumber=1, Body=b"p" * 100)
    bob.s3.complete_multipart_upload(
        Bucket=b, Key="big.bin", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert bob.s3.get_object_acl(Bucket=b, Key="big.bin")["Owner"]["ID"] == bob.id
    assert bob.s3.get_object(Bucket=b, Key="big.bin")["Body"].read() == b"p" * 100
    # The admin sees everything.
    assert s3.get_object(Bucket=b, Key="drop.txt")["Body"].read() == b"from bob"


def test_bad_acls_are_refused_and_change_nothing(alice, bob, alices_bucket):
    b = alices_bucket
    alice.s3.put_object(Bucket=b, Key="k", Body=b"x")
    cases = [
        (dict(GrantRead='emailAddress="bob@example.com"'), 400,
         "UnresolvableGrantByEmailAddress"),
        (dict(GrantRead='id="0123"'), 400, "InvalidArgument"),
        (dict(GrantRead='uri="http://example.com/group"'), 400, "InvalidArgument"),
    ]
    for kw, status, code in cases:
        with pytest.raises(ClientError) as e:
            alice.s3.put_bucket_acl(Bucket=b, **kw)
        assert_client_error(e, status, code)
        with pytest.raises(ClientError) as e:
            alice.s3.put_object_acl(Bucket=b, Key="k", **kw)
        assert_client_error(e, status, code)
        with pytest.raises(ClientError) as e:
            alice.s3.put_object(Bucket=b, Key="k2", Body=b"y", **kw)
        assert_client_error(e, status, code)
    with pytest.raises(ClientError) as e:
        alice.s3.put_object(Bucket=b, Key="k2", Body=b"y", ACL="private",
                            GrantRead=f'id="{bob.id}"')
    assert_client_error(e, 400, "InvalidRequest")
    with pytest.raises(ClientError) as e:
        alice.s3.put_object(Bucket=b, Key="k2", Body=b"y", ACL="aws-exec-read")
    assert_client_error(e, 501, "NotImplemented")
    with pytest.raises(ClientError) as e:
        alice.s3.head_object(Bucket=b, Key="k2")
    assert_client_error(e, 404, "404")
    assert grants_of(alice.s3.get_bucket_acl(Bucket=b)) == {(alice.id, "FULL_CONTROL")}


def policy(b: str, *statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_bucket_policy_allows_denies_and_round_trips(alice, bob, anon_s3, endpoint, alices_bucket):
    b = alices_bucket
    with pytest.raises(ClientError) as e:
        alice.s3.get_bucket_policy(Bucket=b)
    assert_client_error(e, 404, "NoSuchBucketPolicy")
    for key in ("public/a.jpg", "private/a.jpg"):
        alice.s3.put_object(Bucket=b, Key=key, Body=key.encode())
    doc = policy(
        b,
        {"Sid": "PublicPrefix", "Effect": "Allow", "Principal": "*",
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::000000000000:user/{bob.name}"},
         "Action": ["s3:ListBucket", "s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/uploads/*"]},
    )
    alice.s3.put_bucket_policy(Bucket=b, Policy=doc)
    assert json.loads(alice.s3.get_bucket_policy(Bucket=b)["Policy"]) == json.loads(doc)
    assert requests.get(f"{endpoint}/{b}/public/a.jpg").content == b"public/a.jpg"
    denied(anon_s3.get_object, Bucket=b, Key="private/a.jpg")
    denied(anon_s3.list_objects_v2, Bucket=b)
    assert bob.s3.list_objects_v2(Bucket=b)["KeyCount"] == 2
    bob.s3.put_object(Bucket=b, Key="uploads/bob.txt", Body=b"b")
    denied(bob.s3.put_object, Bucket=b, Key="elsewhere.txt", Body=b"b")
    denied(bob.s3.get_object, Bucket=b, Key="private/a.jpg")
    # Only the owner manages the policy.
    denied(bob.s3.get_bucket_policy, Bucket=b)
    denied(bob.s3.put_bucket_policy, Bucket=b, Policy=doc)
    denied(bob.s3.delete_bucket_policy, Bucket=b)
    # An explicit Deny wins over every Allow, ACLs included, and binds the
    # owner too; the owner can still remove the policy.
    alice.s3.put_bucket_acl(Bucket=b, ACL="public-read")
    alice.s3.put_bucket_policy(Bucket=b, Policy=policy(
        b,
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{b}/private/*"}))
    assert anon_s3.get_object(Bucket=b, Key="public/a.jpg")["Body"].read() == b"public/a.jpg"
    denied(anon_s3.get_object, Bucket=b, Key="private/a.jpg")
    denied(alice.s3.get_object, Bucket=b, Key="private/a.jpg")
    alice.s3.delete_bucket_policy(Bucket=b)
    assert alice.s3.get_object(Bucket=b, Key="private/a.jpg")["Body"].read() == b"private/a.jpg"
    with pytest.raises(ClientError) as e:
        alice.s3.get_bucket_policy(Bucket=b)
    assert_client_error(e, 404, "NoSuchBucketPolicy")


def test_source_ip_conditions(alice, anon_s3, alices_bucket):
    b = alices_bucket
    alice.s3.put_object(Bucket=b, Key="k", Body=b"local")
    allow_local = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": f"arn:aws:s3:::{b}/*",
                   "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}}
    alice.s3.put_bucket_policy(Bucket=b, Policy=policy(b, allow_local))
    assert anon_s3.get_object(Bucket=b, Key="k")["Body"].read() == b"local"
    elsewhere = dict(allow_local, Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    alice.s3.put_bucket_policy(Bucket=b, Policy=policy(b, elsewhere))
    denied(anon_s3.get_object, Bucket=b, Key="k")


def test_policies_that_cannot_be_evaluated_are_refused(alice, alices_bucket):
    b = alices_bucket
    ok = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
          "Resource": f"arn:aws:s3:::{b}/*"}
    bad = [
        "{not json",
        policy(b, dict(ok, Effect="Perhaps")),
        policy(b, dict(ok, Action="s3:GetObjectRetention")),
        policy(b, dict(ok, Resource="arn:aws:s3:::someone-elses-bucket/*")),
        policy(b, dict(ok, Principal={"AWS": "arn:aws:iam::1:user/nobody-at-all"})),
        policy(b, dict(ok, Condition={"StringLike": {"aws:Referer": "https://x/*"}})),
        policy(b, {k: v for k, v in ok.items() if k != "Principal"} | {"NotPrincipal": "*"}),
    ]
    for doc in bad:
        with pytest.raises(ClientError) as e:
            alice.s3.put_bucket_policy(Bucket=b, Policy=doc)
        assert_client_error(e, 400, "MalformedPolicy")
    with pytest.raises(ClientError) as e:
        alice.s3.get_bucket_policy(Bucket=b)
    assert_client_error(e, 404, "NoSuchBucketPolicy")


def test_copies_read_only_what_the_caller_may_read(alice, bob, s3, alices_bucket):
    b = alices_bucket
    alice.s3.put_object(Bucket=b, Key="src.txt", Body=b"source")
    mine = unique_name("bob-copies")
    bob.s3.create_bucket(Bucket=mine)
    try:
        denied(bob.s3.copy_object, Bucket=mine, Key="c", CopySource={"Bucket": b, "Key": "src.txt"})
        alice.s3.put_bucket_policy(Bucket=b, Policy=policy(
            b, {"Effect": "Allow", "Principal": {"CanonicalUser": bob.id},
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/src.txt"}))
        bob.s3.copy_object(Bucket=mine, Key="c", CopySource={"Bucket": b, "Key": "src.txt"})
        assert bob.s3.get_object(Bucket=mine, Key="c")["Body"].read() == b"source"
    finally:
        _empty_bucket(s3, mine)
        s3.delete_bucket(Bucket=mine)


def test_oss2_object_acls(endpoint, alice, alices_bucket):
    oss2 = pytest.importorskip("oss2")
    b = alices_bucket
    auth = oss2.Auth(*alice.keys)
    bucket = oss2.Bucket(auth, endpoint, b, is_cname=False)
    bucket.put_object("k.txt", b"oss")
    assert bucket.get_object_acl("k.txt").acl == oss2.OBJECT_ACL_DEFAULT
    bucket.put_object_acl("k.txt", oss2.OBJECT_ACL_PUBLIC_READ)
    assert bucket.get_object_acl("k.txt").acl == oss2.OBJECT_ACL_PUBLIC_READ
    assert requests.get(f"{endpoint}/{b}/k.txt").content == b"oss"
    bucket.put_object_acl("k.txt", oss2.OBJECT_ACL_DEFAULT)
    assert bucket.get_object_acl("k.txt").acl == oss2.OBJECT_ACL_DEFAULT
    assert requests.get(f"{endpoint}/{b}/k.txt").status_code == 403
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    assert bucket.get_bucket_acl().acl == oss2.BUCKET_ACL_PUBLIC_READ_WRITE
