//! The HTTP core under [`super::server::Server`]: spawning the server on
//! port 0, building, signing (SigV4) and sending requests, the fully read
//! response, and the raw request head for tests that write to a socket
//! themselves.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use imgbucket::auth::sign::{self, Credentials};
use imgbucket::config::ConnectionOptions;
use imgbucket::front::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::oneshot;

/// The HTTP client the tests send with.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A fully read response.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A server running in this process, stopped by its shutdown sender.
pub struct Spawned {
    pub addr: SocketAddr,
    pub client: HttpClient,
    pub shutdown: oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Serves `state` on `127.0.0.1:0` with `connections` (a 5 s drain on
/// shutdown in tests).
pub async fn spawn(state: Arc<AppState>, connections: ConnectionOptions) -> Spawned {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(imgbucket::server::run(
        listener,
        state,
        async {
            let _ = rx.await;
        },
        connections,
    ));
    Spawned {
        addr,
        client: Client::builder(TokioExecutor::new()).build_http(),
        shutdown: tx,
        task,
    }
}

/// `http://addr` + `path_and_query`.
pub fn uri(addr: SocketAddr, path_and_query: &str) -> Uri {
    format!("http://{addr}{path_and_query}").parse().unwrap()
}

/// Sends a request as-is and reads the whole response.
pub async fn send(client: &HttpClient, req: Request<Full<Bytes>>) -> Resp {
    let resp = client.request(req).await.expect("request failed");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub fn build(method: &Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Request<Full<Bytes>> {
    let mut headers = headers;
    // hyper sends no Content-Length for an empty body, and an upload
    // without one is 411; SDKs and curl -d send `Content-Length: 0`.
    let uploads = *method == Method::PUT || *method == Method::POST;
    if uploads
        && body.is_empty()
        && !headers.contains_key(http::header::CONTENT_LENGTH)
        && !headers.contains_key(http::header::TRANSFER_ENCODING)
    {
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(0));
    }
    let mut req = Request::builder().method(method.clone()).uri(uri);
    *req.headers_mut().unwrap() = headers;
    req.body(Full::new(body)).unwrap()
}

pub fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

/// Sends a SigV4-signed request as `creds` at `now`. The signature covers
/// `payload_hash`, or by default the body's SHA-256.
pub async fn send_v4(
    client: &HttpClient,
    addr: SocketAddr,
    creds: &Credentials,
    now: SystemTime,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload_hash: Option<&str>,
    body: Bytes,
) -> Resp {
    let method: Method = method.parse().unwrap();
    let uri = uri(addr, path);
    let mut h = header_map(headers);
    let hash = payload_hash.map_or_else(|| sign::payload_sha256(&body), str::to_string);
    sign::sign_v4_request(&method, &uri, &mut h, &hash, creds, now).unwrap();
    send(client, build(&method, uri, h, body)).await
}

/// The head of a raw HTTP/1.1 request: request line, headers, blank line.
pub fn raw_head(method: &str, path: &str, headers: &HeaderMap) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    head + "\r\n"
}
