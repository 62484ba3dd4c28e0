//! The web console at `/-/console/`: static files (plain ES modules, HTML
//! and CSS from `src/front/console/`) compiled into the binary, so that
//! `cargo build` alone gives a working console and nothing is fetched at
//! run time. The console is a pure client of the public APIs: it signs its
//! requests in the browser (SigV4 through WebCrypto) and the server keeps
//! no session for it. This module only serves the files, unauthenticated,
//! before signature checks, like the health endpoints.
//!
//! Every answer under `/-/console` carries [`secure`]'s headers: a strict
//! Content-Security-Policy (no inline script, no `eval`, no framing, same
//! origin only), `nosniff`, and `Cache-Control: no-cache` with an ETag, so a
//! browser revalidates after an upgrade instead of mixing old and new
//! modules.

use crate::http::body::Body;
use crate::http::error::ApiError;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The path prefix of the console, as the browser sees it.
pub const PREFIX: &str = "/-/console";

/// The policy: everything from this origin only; images may also be blobs
/// (thumbnails and previews fetched with a signature, shown through object
/// URLs) or data URLs; no inline script or style, no `eval`, no framing,
/// no forms posting anywhere, no `<base>` rewriting.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; \
frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// One embedded file.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    /// Its name under `/-/console/` (`""` is `index.html`).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes, compiled in.
    pub body: &'static str,
}

macro_rules! assets {
    ($(($name:literal, $type:expr)),* $(,)?) => {
        /// Every file of the console.
        pub static ASSETS: &[Asset] = &[$(Asset {
            name: $name,
            content_type: $type,
            body: include_str!(concat!("console/", $name)),
        }),*];
    };
}

const JS: &str = "text/javascript; charset=utf-8";
assets![
    ("index.html", "text/html; charset=utf-8"),
    ("console.css", "text/css; charset=utf-8"),
    ("app.js", JS),
    ("sigv4.js", JS),
    ("s3.js", JS),
    ("ui.js", JS),
    ("buckets.js", JS),
    ("objects.js", JS),
    ("upload.js", JS),
    ("editor.js", JS),
    ("status.js", JS),
    ("picops.js", JS),
];

/// A request under `/-/console`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleOp {
    /// `/-/console` without its slash: relative module URLs need it.
    Redirect,
    /// One of [`ASSETS`]; `head` answers without the body.
    Asset {
        /// The file.
        asset: &'static Asset,
        /// A `HEAD` request.
        head: bool,
    },
}

/// Routes `rest` (what follows `/-/`): `None` when it is not the console's.
pub fn route(method: &Method, rest: &str) -> Option<Result<ConsoleOp, ApiError>> {
    let sub = rest.strip_prefix("console")?;
    let name = match sub {
        "" => None,
        _ => Some(sub.strip_prefix('/')?),
    };
    if *method != Method::GET && *method != Method::HEAD {
        return Some(Err(ApiError::MethodNotAllowed));
    }
    let Some(name) = name else {
        return Some(Ok(ConsoleOp::Redirect));
    };
    let name = if name.is_empty() { "index.html" } else { name };
    Some(match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => Ok(ConsoleOp::Asset {
            asset,
            head: *method == Method::HEAD,
        }),
        None => Err(ApiError::NoSuchResource(format!("{PREFIX}/{name}"))),
    })
}

/// The ETag of every asset (unquoted): one for the whole set, since the files are
/// released together (a hash of all of them, computed once).
fn etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        let mut h = Sha256::new();
        for a in ASSETS {
            h.update(a.name.as_bytes());
            h.update([0]);
            h.update(a.body.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..12])
    })
}

/// Answers a console request.
pub fn handle(headers: &HeaderMap, op: ConsoleOp) -> Response<Body> {
    let (asset, head) = match op {
        ConsoleOp::Redirect => {
            let mut r = Response::new(crate::http::body::empty());
            *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
            r.headers_mut().insert(
                http::header::LOCATION,
                HeaderValue::from_static("/-/console/"),
            );
            return r;
        }
        ConsoleOp::Asset { asset, head } => (asset, head),
    };
    let tag = etag();
    let matches = headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|list| crate::http::headers::etag_list_matches(list, tag));
    let mut r = if matches {
        let mut r = Response::new(crate::http::body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let mut r = Response::new(if head {
            crate::http::body::empty()
        } else {
            crate::http::body::full(asset.body)
        });
        r.headers_mut().insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(asset.body.len()),
        );
        r
    };
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    crate::http::headers::etag_header(h, tag);
    r
}

/// Adds the console's security and caching headers to a response for a
/// path under [`PREFIX`], whatever its status (errors included), so that
/// nothing served there can be framed, sniffed or run inline script.
pub fn secure(path: &str, h: &mut HeaderMap) {
    if path != PREFIX && !path.starts_with("/-/console/") {
        return;
    }
    use http::header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
        X_FRAME_OPTIONS,
    };
    for (name, value) in [
        (CONTENT_SECURITY_POLICY, CSP),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (X_FRAME_OPTIONS, "DENY"),
        (REFERRER_POLICY, "no-referrer"),
        (CACHE_CONTROL, "no-cache"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes_the_console_and_nothing_else() {
        let get = |p: &str| route(&Method::GET, p);
        assert_eq!(get("console").unwrap().unwrap(), ConsoleOp::Redirect);
        assert!(matches!(
            get("console/").unwrap().unwrap(),
            ConsoleOp::Asset { asset, head: false } if asset.name == "index.html"
        ));
        assert!(matches!(
            route(&Method::HEAD, "console/app.js").unwrap().unwrap(),
            ConsoleOp::Asset { asset, head: true } if asset.name == "app.js"
        ));
        assert!(matches!(
            get("console/nope.js"),
            Some(Err(ApiError::NoSuchResource(_)))
        ));
        assert!(matches!(
            route(&Method::PUT, "console/app.js"),
            Some(Err(ApiError::MethodNotAllowed))
        ));
        assert!(get("consoles").is_none());
        assert!(get("health/live").is_none());
    }

    #[test]
    fn every_asset_is_non_empty_and_scripts_are_modules() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{}", a.name);
            if a.content_type == JS {
                assert!(a.name.ends_with(".js"));
            }
        }
        let index = ASSETS.iter().find(|a| a.name == "index.html").unwrap();
        // The CSP forbids inline script: the page only loads modules.
        assert!(index
            .body
            .contains(r#"<script type="module" src="app.js">"#));
        assert!(!index.body.contains("<script>"));
        assert!(!index.body.contains("style="));
    }
}
