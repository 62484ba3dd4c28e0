//! CORS at the front door: which rules a bucket has (its own configuration,
//! else the server-wide default of the config file), kept in memory; the
//! answer to a preflight; and the `Access-Control-*` headers of every other
//! response, added in one place (`front::handle`) so that errors and
//! processed images get them as plain reads do.
//!
//! A bucket's rules are read from the store once and kept, as the image
//! settings are (`images::settings`): the front door drops its copy when
//! this process writes them (Put/DeleteBucketCors, bucket creation and
//! deletion), and in gateway mode, where other nodes write them too, once
//! older than the settings' time-to-live. A request without `Origin` never
//! reads them.

use crate::http::cors::{self, CorsConfig, CorsRule, Preflight};
use crate::http::error::ApiError;
use crate::http::memo::BucketMemo;
use crate::http::{empty_response, ApiResult};
use http::{HeaderMap, Method, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use storage::Store;

/// The rules that apply to a bucket.
#[derive(Debug, Clone)]
pub enum Rules {
    /// The bucket's own configuration.
    Bucket(Arc<CorsConfig>),
    /// The server-wide default rule (the bucket has no configuration).
    Default(Arc<CorsRule>),
    /// No rules: cross-origin requests are not allowed.
    None,
}

impl Rules {
    /// The first rule that allows this request.
    fn find(&self, origin: &str, method: &str, headers: &[String]) -> Option<&CorsRule> {
        match self {
            Rules::Bucket(config) => config.find(origin, method, headers),
            Rules::Default(rule) => rule
                .allows(origin, method, headers)
                .then_some(rule.as_ref()),
            Rules::None => None,
        }
    }
}

/// Bucket name → its own CORS configuration (`None`: it has none), with
/// the server-wide default beside them.
#[derive(Debug, Default)]
pub struct CorsRules {
    configs: BucketMemo<Option<Arc<CorsConfig>>>,
    /// The rule of buckets without a configuration (`[cors]`).
    default: Option<Arc<CorsRule>>,
}

impl CorsRules {
    /// Rules read again once older than `ttl`, with this default.
    pub fn new(ttl: Option<Duration>, default: Option<CorsRule>) -> Self {
        CorsRules {
            configs: BucketMemo::new(ttl),
            default: default.map(Arc::new),
        }
    }

    /// The same default, entries trusted for `ttl`.
    pub fn with_ttl(&self, ttl: Option<Duration>) -> Self {
        CorsRules::new(ttl, self.default.as_deref().cloned())
    }

    /// The same time-to-live, with this default.
    pub fn with_default(&self, default: Option<CorsRule>) -> Self {
        CorsRules::new(self.configs.ttl(), default)
    }

    /// The rules of `bucket`: from memory, else read once from the store.
    /// A missing bucket is an error (`NoSuchBucket`), and is not kept.
    pub async fn get(&self, store: &dyn Store, bucket: &str) -> Result<Rules, ApiError> {
        let config = self
            .configs
            .get(bucket, || async {
                Ok::<_, ApiError>(match store.bucket_setting(bucket, cors::SETTING).await? {
                    Some(raw) => Some(Arc::new(CorsConfig::from_record(&raw)?)),
                    None => None,
                })
            })
            .await?;
        Ok(self.rules(config))
    }

    fn rules(&self, own: Option<Arc<CorsConfig>>) -> Rules {
        match (own, &self.default) {
            (Some(config), _) => Rules::Bucket(config),
            (None, Some(rule)) => Rules::Default(rule.clone()),
            (None, None) => Rules::None,
        }
    }

    /// Drops the bucket's entry: its configuration was written, or the
    /// bucket was created or deleted.
    pub fn forget(&self, bucket: &str) {
        self.configs.forget(bucket);
    }
}

/// Answers a preflight as S3 does: 200 with the first matching rule's
/// headers; 403 `AccessForbidden` when the bucket has no rules or none
/// matches; 404 `NoSuchBucket` for a missing bucket.
pub async fn preflight(
    rules: &CorsRules,
    store: &dyn Store,
    bucket: &str,
    p: &Preflight,
) -> ApiResult {
    let rules = rules.get(store, bucket).await?;
    if let Rules::None = rules {
        return Err(ApiError::CorsNotEnabled);
    }
    let rule = rules
        .find(&p.origin, &p.method, &p.headers)
        .ok_or(ApiError::CorsForbidden)?;
    let mut resp = empty_response(StatusCode::OK);
    rule.preflight_headers(p, resp.headers_mut());
    Ok(resp)
}

/// Adds the `Access-Control-*` headers to the response of an actual
/// (non-preflight) request carrying `Origin`, when a rule of its bucket
/// allows the origin and the request's method. A bucket that cannot be
/// read (missing, say) is answered by the default rule, so that a page
/// can read the error. A response that depends on rules varies on
/// `Origin` even when none matched.
pub async fn decorate(
    rules: &CorsRules,
    store: &dyn Store,
    bucket: &str,
    method: &Method,
    request: &HeaderMap,
    response: &mut HeaderMap,
) {
    let Some(origin) = request
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let rules = match rules.get(store, bucket).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(bucket, error = %e, "CORS rules not read; using the default");
            rules.rules(None)
        }
    };
    if let Rules::None = rules {
        return;
    }
    if let Some(rule) = rules.find(origin, method.as_str(), &[]) {
        rule.actual_headers(origin, response);
    }
    cors::vary_on_origin(response);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(origin: &str) -> CorsRule {
        CorsRule {
            allowed_origins: vec![origin.into()],
            allowed_methods: vec!["GET".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_bucket_configuration_wins_over_the_default() {
        let rules = CorsRules::new(None, Some(rule("*")));
        let own = Arc::new(CorsConfig::new(vec![rule("http://a.example")]).unwrap());
        let r = rules.rules(Some(own));
        assert!(r.find("http://a.example", "GET", &[]).is_some());
        // The default is not consulted once the bucket has rules.
        assert!(r.find("http://b.example", "GET", &[]).is_none());
        let r = rules.rules(None);
        assert!(r.find("http://b.example", "GET", &[]).is_some());
        assert!(matches!(CorsRules::default().rules(None), Rules::None));
    }
}
