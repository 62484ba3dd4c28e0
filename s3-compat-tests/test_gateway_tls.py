"""Gateway mode over an https:// backend: a node speaks TLS (rustls) to a
Garage node behind nginx with a test certificate, trusted through
`--backend-ca-file`; a node without that file refuses the certificate and
answers 503 rather than talk to an unverified backend.

Gateway mode only: it runs when `$IMGBUCKET_TEST_BACKEND` is set."""

from __future__ import annotations

import pytest

from conftest import make_client
from process_fixtures import image_size, make_png
from s3util import Server, backend_env, free_port, gateway_args, signed_request, unique_name
from test_gateway_nginx import NGINX, Nginx
from test_operations import make_cert

pytestmark = pytest.mark.gateway


def tls_front(tmp, garage: str, port: int) -> str:
    cert, key = make_cert(tmp)
    upstream = garage.removeprefix("http://")
    return f"""
server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate     {cert};
    ssl_certificate_key {key};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {{
        proxy_pass http://{upstream};
        proxy_set_header Host $http_host;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }}
}}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    backend = backend_env()
    assert backend, "IMGBUCKET_TEST_BACKEND is not set"
    assert NGINX.is_file(), f"no nginx at {NGINX}"
    tmp = tmp_path_factory.mktemp("gwtls")
    port = free_port()
    lb = Nginx(tmp, tls_front(tmp, backend["GARAGE_ENDPOINTS"].split()[0], port), port)
    lb.start()
    meta = unique_name("meta-tls")
    nodes = []
    try:
        env, args = gateway_args(backend, meta_bucket=meta, endpoint=f"https://localhost:{port}")
        trusted = Server(tmp / "t" / "data", tmp / "t.log", env=env,
                         extra_args=[*args, "--backend-ca-file", str(tmp / "ca.pem")])
        nodes.append(trusted.start())
        untrusted = Server(tmp / "u" / "data", tmp / "u.log", env=env, extra_args=args)
        nodes.append(untrusted.start())
        yield {"trusted": trusted, "untrusted": untrusted, "nginx": lb}
    finally:
        for n in nodes:
            n.stop()
        lb.stop()


def test_objects_and_processing_over_an_https_backend(setup):
    node = setup["trusted"]
    s3 = make_client(node.endpoint)
    bucket = unique_name("tls")
    s3.create_bucket(Bucket=bucket)
    png = make_png(300, 200)
    s3.put_object(Bucket=bucket, Key="cat.png", Body=png, ContentType="image/png")
    assert s3.get_object(Bucket=bucket, Key="cat.png")["Body"].read() == png
    r = signed_request(node.endpoint, "GET", f"/{bucket}/cat.png",
                       query={"x-oss-process": "image/resize,w_100"})
    assert r.status_code == 200, r.text
    assert image_size(r.content)[1:] == (100, 67)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["cat.png"]
    # The requests went through the TLS front.
    assert f"/{bucket}/cat.png" in (setup["nginx"].tmp / "access.log").read_text()
    s3.delete_object(Bucket=bucket, Key="cat.png")
    s3.delete_bucket(Bucket=bucket)


def test_an_untrusted_certificate_is_refused(setup):
    node = setup["untrusted"]
    r = signed_request(node.endpoint, "GET", "/")
    assert r.status_code == 503, r.text
    ready = signed_request(node.endpoint, "GET", "/-/health/ready")
    assert ready.status_code == 503
    # The log says why, for the operator.
    assert "invalid peer certificate: UnknownIssuer" in node.log_text()
