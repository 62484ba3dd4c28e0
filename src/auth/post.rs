//! The signature of a browser form upload (S3 POST Object): not over the
//! request, whose head a browser writes, but over the form's base64
//! `policy` field. SigV4 (`x-amz-algorithm`, `x-amz-credential`,
//! `x-amz-date`, `x-amz-signature`): the hex HMAC-SHA256 of the policy
//! string under the usual signing key. SigV2 (`AWSAccessKeyId`,
//! `signature`): the base64 HMAC-SHA1 of the policy under the secret.
//!
//! The form's time is not held to the clock skew: the policy's own
//! `expiration` bounds how long a form stays usable, and the S3 layer
//! checks it (`s3::post_policy`).

use super::sigv4::{self, Credential};
use super::util;
use super::{AuthError, Keyring};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// The credential fields of a form, as sent (looked up case-insensitively
/// by the caller).
#[derive(Debug, Clone, Copy, Default)]
pub struct FormCredentials<'a> {
    /// `policy`: the base64 policy document, the string that is signed.
    pub policy: &'a str,
    /// `x-amz-algorithm` (SigV4).
    pub algorithm: Option<&'a str>,
    /// `x-amz-credential` (SigV4).
    pub credential: Option<&'a str>,
    /// `x-amz-date` (SigV4).
    pub date: Option<&'a str>,
    /// `x-amz-signature` (SigV4).
    pub signature: Option<&'a str>,
    /// `AWSAccessKeyId` (SigV2).
    pub v2_access_key: Option<&'a str>,
    /// `signature` (SigV2).
    pub v2_signature: Option<&'a str>,
}

fn missing(field: &str) -> AuthError {
    AuthError::InvalidPostForm {
        reason: format!(
            "Bucket POST must contain a field named '{field}'.  If it is specified, please check the order of the fields."
        ),
    }
}

/// Verifies the form's signature over its policy; answers the access key
/// that signed.
pub fn verify_form(form: &FormCredentials<'_>, keyring: &Keyring) -> Result<String, AuthError> {
    if let Some(access_key) = form.v2_access_key.filter(|_| form.signature.is_none()) {
        let signature = form.v2_signature.ok_or_else(|| missing("signature"))?;
        let secret = keyring.lookup(access_key)?;
        let expected = BASE64.encode(util::hmac_sha1(secret.as_bytes(), form.policy.as_bytes()));
        if !util::ct_eq(expected.as_bytes(), signature.trim().as_bytes()) {
            return Err(mismatch(form.policy));
        }
        return Ok(access_key.to_string());
    }
    let algorithm = form.algorithm.ok_or_else(|| missing("x-amz-algorithm"))?;
    let credential = form.credential.ok_or_else(|| missing("x-amz-credential"))?;
    let date = form.date.ok_or_else(|| missing("x-amz-date"))?;
    let signature = form.signature.ok_or_else(|| missing("x-amz-signature"))?;
    let invalid = |reason: String| AuthError::InvalidPostForm { reason };
    if algorithm.trim() != sigv4::ALGORITHM {
        return Err(invalid(format!(
            "Invalid algorithm {algorithm:?}; only AWS4-HMAC-SHA256 is supported"
        )));
    }
    let credential = Credential::parse(credential).map_err(invalid)?;
    util::parse_amz_date(date).ok_or_else(|| {
        invalid("x-amz-date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".into())
    })?;
    let secret = keyring.lookup(&credential.access_key)?;
    credential.check(date.trim(), keyring).map_err(invalid)?;
    let provided = util::parse_hex32(signature.trim())
        .filter(|_| signature.trim().len() == 64)
        .ok_or_else(|| mismatch(form.policy))?;
    let key = sigv4::signing_key(
        secret,
        &credential.date,
        &credential.region,
        &credential.service,
    );
    let expected = util::hmac_sha256(&key, form.policy.as_bytes());
    if !util::ct_eq(&expected, &provided) {
        return Err(mismatch(form.policy));
    }
    Ok(credential.access_key)
}

fn mismatch(policy: &str) -> AuthError {
    AuthError::SignatureDoesNotMatch {
        string_to_sign: policy.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new([("AKID", "secret")], Some("us-east-1".into()))
    }

    fn signed(policy: &str) -> String {
        let key = sigv4::signing_key("secret", "20240102", "us-east-1", "s3");
        hex::encode(util::hmac_sha256(&key, policy.as_bytes()))
    }

    fn form<'a>(policy: &'a str, signature: &'a str) -> FormCredentials<'a> {
        FormCredentials {
            policy,
            algorithm: Some("AWS4-HMAC-SHA256"),
            credential: Some("AKID/20240102/us-east-1/s3/aws4_request"),
            date: Some("20240102T030405Z"),
            signature: Some(signature),
            ..Default::default()
        }
    }

    #[test]
    fn sigv4_forms() {
        let sig = signed("cG9saWN5");
        assert_eq!(
            verify_form(&form("cG9saWN5", &sig), &keyring()).unwrap(),
            "AKID"
        );
        let e = verify_form(&form("b3RoZXI=", &sig), &keyring()).unwrap_err();
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        let mut f = form("cG9saWN5", &sig);
        f.credential = Some("NOPE/20240102/us-east-1/s3/aws4_request");
        assert_eq!(
            verify_form(&f, &keyring()).unwrap_err().code(),
            "InvalidAccessKeyId"
        );
        let mut f = form("cG9saWN5", &sig);
        f.date = Some("20240103T000000Z");
        assert_eq!(verify_form(&f, &keyring()).unwrap_err().status(), 400);
        let mut f = form("cG9saWN5", &sig);
        f.signature = None;
        assert_eq!(
            verify_form(&f, &keyring()).unwrap_err().code(),
            "InvalidArgument"
        );
    }

    #[test]
    fn sigv2_forms() {
        let sig = BASE64.encode(util::hmac_sha1(b"secret", b"cG9saWN5"));
        let f = FormCredentials {
            policy: "cG9saWN5",
            v2_access_key: Some("AKID"),
            v2_signature: Some(&sig),
            ..Default::default()
        };
        assert_eq!(verify_form(&f, &keyring()).unwrap(), "AKID");
        let f = FormCredentials {
            policy: "b3RoZXI=",
            ..f
        };
        assert_eq!(
            verify_form(&f, &keyring()).unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
    }
}
