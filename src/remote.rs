//! The HTTP side of the client subcommands (`imgbucket admin`, `style`,
//! `image-config`, `process`, `presign`): where the server is, which keys
//! sign, and one signed request at a time.
//!
//! Endpoint and keys come from the same environment variables as aws-cli,
//! so a shell set up for `aws --endpoint-url` needs nothing more. The
//! client commands read aws-cli's names first: `--endpoint-url`, else
//! `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `IMGBUCKET_ENDPOINT`, else
//! `http://127.0.0.1:9000`; the key pair from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`, else `IMGBUCKET_ACCESS_KEY` /
//! `IMGBUCKET_SECRET_KEY`. The admin commands read imgbucket's names first
//! (`IMGBUCKET_ENDPOINT`, `IMGBUCKET_ACCESS_KEY`...), since the admin's pair
//! is usually the server's own and a shell may hold a user's pair for
//! aws-cli. The region: `IMGBUCKET_REGION`, `AWS_REGION` or
//! `AWS_DEFAULT_REGION` (`us-east-1`).
//! Requests are signed with the project's own SigV4 code
//! ([`imgbucket::auth::client`]), the code the server verifies with.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use imgbucket::auth::client::{payload_sha256, sign_v4_request, Credentials};
use std::time::SystemTime;

/// Where the server is and who speaks to it.
pub struct Remote {
    /// `http://host:port`, without a trailing slash.
    pub endpoint: String,
    /// The signing key pair and region.
    pub creds: Credentials,
}

/// A server's answer, whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Which environment variables win (see the module doc).
#[derive(Clone, Copy, Debug)]
pub enum EnvOrder {
    /// aws-cli's names first: the client commands.
    AwsFirst,
    /// imgbucket's names first: the admin commands.
    ImgbucketFirst,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl Remote {
    /// The endpoint (`flag` first) and keys from the environment, in the
    /// order of `names` (see the module doc).
    pub fn from_env(flag: Option<&str>, names: EnvOrder) -> Result<Remote, String> {
        let (endpoints, access, secret): (&[&str], &[&str], &[&str]) = match names {
            EnvOrder::AwsFirst => (
                &[
                    "AWS_ENDPOINT_URL_S3",
                    "AWS_ENDPOINT_URL",
                    "IMGBUCKET_ENDPOINT",
                ],
                &["AWS_ACCESS_KEY_ID", "IMGBUCKET_ACCESS_KEY"],
                &["AWS_SECRET_ACCESS_KEY", "IMGBUCKET_SECRET_KEY"],
            ),
            EnvOrder::ImgbucketFirst => (
                &[
                    "IMGBUCKET_ENDPOINT",
                    "AWS_ENDPOINT_URL_S3",
                    "AWS_ENDPOINT_URL",
                ],
                &["IMGBUCKET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"],
                &["IMGBUCKET_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"],
            ),
        };
        let endpoint = flag
            .map(str::to_string)
            .or_else(|| env(endpoints))
            .unwrap_or_else(|| "http://127.0.0.1:9000".into());
        let endpoint = endpoint.trim_end_matches('/').to_string();
        if !endpoint.starts_with("http://") {
            return Err(format!(
                "endpoint {endpoint}: only http:// is spoken (the server has no TLS; reach it directly or through the proxy's plain-HTTP side)"
            ));
        }
        // The pair is taken whole from one source, never an access key
        // from one and a secret from the other.
        let pair =
            (0..access.len()).find_map(|i| Some((env(&access[i..=i])?, env(&secret[i..=i])?)));
        let Some((access_key, secret_key)) = pair else {
            return Err(
                "no keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or IMGBUCKET_ACCESS_KEY and IMGBUCKET_SECRET_KEY)"
                    .into(),
            );
        };
        let region = env(&["IMGBUCKET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"])
            .unwrap_or_else(|| "us-east-1".into());
        Ok(Remote {
            endpoint,
            creds: Credentials::new(access_key, secret_key, region),
        })
    }

    /// The absolute URI of `path_and_query` (already percent-encoded).
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, String> {
        format!("{}{path_and_query}", self.endpoint)
            .parse()
            .map_err(|e| format!("bad URL {}{path_and_query}: {e}", self.endpoint))
    }

    /// Sends one request signed with SigV4 (the payload hash covers
    /// `body`) and reads the whole answer.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer, String> {
        let uri = self.uri(path_and_query)?;
        sign_v4_request(
            &method,
            &uri,
            &mut headers,
            &payload_sha256(&body),
            &self.creds,
            SystemTime::now(),
        )
        .map_err(|e| format!("cannot sign the request: {e}"))?;
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        *req.headers_mut() = headers;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.endpoint))?;
        let status = resp.status();
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            headers: parts.headers,
            body,
        })
    }

    /// [`Remote::send`], with an unsuccessful answer turned into its error
    /// line.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Answer, String> {
        let answer = self.send(method, path_and_query, headers, body).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(describe_error(&answer))
        }
    }
}

/// An error answer as one line, whatever its envelope: S3, OSS and COS XML
/// (`403 AccessDenied: Access Denied`), US3 JSON (`RetCode` / `ErrMsg`), or
/// the COS `X-ErrNo` header of an image error.
pub fn describe_error(answer: &Answer) -> String {
    let status = answer.status.as_u16();
    if let Ok(root) = imgbucket::http::xml::parse(&answer.body) {
        if let (Some(code), Some(message)) = (root.child_text("Code"), root.child_text("Message")) {
            return format!("{status} {code}: {message}");
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&answer.body) {
        if let Some(msg) = v.get("ErrMsg").and_then(|m| m.as_str()) {
            let code = v.get("RetCode").map(|c| c.to_string()).unwrap_or_default();
            return format!("{status} RetCode {code}: {msg}");
        }
    }
    let text = String::from_utf8_lossy(&answer.body);
    let text = text.trim();
    match answer.headers.get("x-errno").and_then(|v| v.to_str().ok()) {
        Some(errno) => format!("{status} X-ErrNo {errno}: {text}"),
        None if text.is_empty() => format!("{status} (no body)"),
        None => format!("{status} {text}"),
    }
}
