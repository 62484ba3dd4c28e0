//! `imgbucket style | image-config | process | presign`: the client side of
//! the APIs aws-cli has no commands for, so that nobody hand-signs a
//! request. Each command is one signed request (see [`crate::remote`]) to
//! the same public API every other client uses; nothing here is privileged.

use crate::remote::Remote;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use imgbucket::auth::client::{presign_v4, uri_encode};
use imgbucket::http::vendor::Vendor;
use imgbucket::http::xml::XmlWriter;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Which vendor API manages a style.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Alibaba OSS: `?style&styleName=`, `<Style><Content>`.
    Oss,
    /// Tencent COS: `?style`, `<AddStyle>` / `<DeleteStyle>`.
    Cos,
    /// UCloud US3: imgbucket's `?iopstyle&styleName=`, JSON answers.
    Us3,
}

impl Dialect {
    /// The dialect whose syntax `body` is written in, decided by the
    /// server's own rule (`docs/styles.md`).
    fn of_style_body(body: &str) -> Dialect {
        match imgbucket::images::styles::detect_content_dialect(body) {
            dialects::Dialect::Oss => Dialect::Oss,
            dialects::Dialect::Us3 => Dialect::Us3,
            dialects::Dialect::Cos => Dialect::Cos,
        }
    }

    /// The sub-resource of its style API: US3's is imgbucket's own.
    fn style_resource(self) -> &'static str {
        match self {
            Dialect::Us3 => "iopstyle",
            Dialect::Oss | Dialect::Cos => "style",
        }
    }
}

/// `/<bucket>?style&styleName=<name>` (OSS) or `?iopstyle&...` (US3).
fn named_style_path(dialect: Dialect, bucket: &str, name: &str) -> String {
    format!(
        "{}?{}&styleName={}",
        bucket_path(bucket),
        dialect.style_resource(),
        uri_encode(name, false)
    )
}

/// `imgbucket style ...`.
#[derive(clap::Subcommand, Debug)]
pub enum StyleCommand {
    /// Store a style (replacing one of the same name).
    Put {
        bucket: String,
        name: String,
        /// The process string, e.g. `image/resize,w_100`,
        /// `imageMogr2/thumbnail/100x`, `iopcmd=thumbnail&type=4&width=100`.
        body: String,
        /// The API to store it through (default: the body's own dialect).
        #[arg(long, value_enum)]
        dialect: Option<Dialect>,
    },
    /// Print one style's process string.
    Get {
        bucket: String,
        name: String,
        #[arg(long, value_enum, default_value = "oss")]
        dialect: Dialect,
    },
    /// List the bucket's styles: name, a tab, the process string.
    List {
        bucket: String,
        #[arg(long, value_enum, default_value = "oss")]
        dialect: Dialect,
    },
    /// Delete a style.
    Delete {
        bucket: String,
        name: String,
        #[arg(long, value_enum, default_value = "oss")]
        dialect: Dialect,
    },
}

/// `imgbucket image-config ...`: the bucket image settings document
/// (separators, source protection, metadata policy).
#[derive(clap::Subcommand, Debug)]
pub enum ImageConfigCommand {
    /// Print the bucket's image settings (defaults when never set).
    Get { bucket: String },
    /// Replace them: JSON text, `@file`, or `-` for standard input.
    Put { bucket: String, json: String },
    /// Reset them to the defaults.
    Delete { bucket: String },
}

/// Arguments of `imgbucket process`.
#[derive(clap::Args, Debug)]
pub struct ProcessArgs {
    pub bucket: String,
    pub key: String,
    /// The processing query as in a URL: `x-oss-process=image/resize,w_300`,
    /// `imageMogr2/thumbnail/300x`, `iopcmd=thumbnail&type=4&width=300`.
    pub query: String,
    /// Write the result here (default: standard output).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

/// Arguments of `imgbucket presign`.
#[derive(clap::Args, Debug)]
pub struct PresignArgs {
    pub bucket: String,
    pub key: String,
    /// A processing query to include under the signature, e.g.
    /// `x-oss-process=image/resize,w_300`.
    #[arg(long)]
    pub process: Option<String>,
    /// Seconds the URL stays valid (at most 7 days, as in S3).
    #[arg(long, default_value_t = 3600)]
    pub expires_in: u64,
}

/// The longest presigned validity SigV4 allows.
const MAX_EXPIRES: u64 = 7 * 24 * 3600;

fn bucket_path(bucket: &str) -> String {
    format!("/{}", uri_encode(bucket, false))
}

fn object_path(bucket: &str, key: &str) -> String {
    format!("{}/{}", bucket_path(bucket), uri_encode(key, true))
}

/// A query written as in a URL (`a=b&c`, possibly unencoded) re-encoded
/// the way SigV4 canonicalises it, so that what is sent is what is signed.
/// Each `name[=value]` keeps its shape: a bare name stays bare.
fn encode_query(query: &str) -> String {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            // A user may paste an already-encoded query; decode first so
            // `%2C` is not sent as `%252C`.
            let name = uri_encode(&percent_decode(name), false);
            match value {
                Some(v) => format!("{name}={}", uri_encode(&percent_decode(v), false)),
                None => name,
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// `<root><name>text</name>...</root>`, escaped by the server's own
/// writer (no namespace: the vendor APIs' bodies carry none).
fn xml_body(root: &str, children: &[(&str, &str)]) -> String {
    let mut x = XmlWriter::for_vendor(Vendor::Oss);
    x.open_root(root);
    for (name, text) in children {
        x.elem(name, text);
    }
    x.close(root);
    String::from_utf8_lossy(&x.finish()).into_owned()
}

fn content_type(value: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(value));
    h
}

/// Styles as (name, process string) from a list answer of any dialect.
fn parse_styles(dialect: Dialect, body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let unexpected = |e: &dyn std::fmt::Display| format!("unexpected answer: {e}");
    match dialect {
        Dialect::Us3 => {
            let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| unexpected(&e))?;
            Ok(v["Styles"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let f = |k: &str| s[k].as_str().unwrap_or_default().to_string();
                    (f("StyleName"), f("StyleBody"))
                })
                .collect())
        }
        Dialect::Oss | Dialect::Cos => {
            // A `GET ?style` that is not COS-signed is answered in the OSS
            // shape, so both shapes are read whichever API was asked.
            let root = imgbucket::http::xml::parse(body).map_err(|e| unexpected(&e))?;
            let pair = |s: &imgbucket::http::xml::Element| {
                let f = |a: &str, b: &str| {
                    s.child_text(a)
                        .or_else(|| s.child_text(b))
                        .unwrap_or_default()
                        .to_string()
                };
                (f("Name", "StyleName"), f("Content", "StyleBody"))
            };
            if root.name == "Style" {
                // OSS GetStyle answers one <Style>, not a list.
                return Ok(vec![pair(&root)]);
            }
            Ok(root
                .children
                .iter()
                .filter(|c| c.name == "Style" || c.name == "StyleRule")
                .map(pair)
                .collect())
        }
    }
}

/// Runs `imgbucket style ...`; the text to print.
pub async fn style(remote: &Remote, cmd: StyleCommand) -> Result<String, String> {
    match cmd {
        StyleCommand::Put {
            bucket,
            name,
            body,
            dialect,
        } => {
            let dialect = dialect.unwrap_or_else(|| Dialect::of_style_body(&body));
            let named = named_style_path(dialect, &bucket, &name);
            let (path, headers, payload) = match dialect {
                Dialect::Oss => (
                    named,
                    content_type("application/xml"),
                    xml_body("Style", &[("Content", &body)]),
                ),
                Dialect::Cos => (
                    format!("{}?style", bucket_path(&bucket)),
                    content_type("application/xml"),
                    xml_body("AddStyle", &[("StyleName", &name), ("StyleBody", &body)]),
                ),
                Dialect::Us3 => (named, content_type("text/plain"), body.clone()),
            };
            remote
                .call(Method::PUT, &path, headers, Bytes::from(payload))
                .await?;
            Ok(format!("stored style {name} in {bucket}: {body}"))
        }
        StyleCommand::Get {
            bucket,
            name,
            dialect,
        } => {
            let styles = match dialect {
                Dialect::Cos => {
                    // COS has no single-style GET: the list, filtered below.
                    let answer = remote
                        .call(
                            Method::GET,
                            &format!("{}?style", bucket_path(&bucket)),
                            HeaderMap::new(),
                            Bytes::new(),
                        )
                        .await?;
                    parse_styles(dialect, &answer.body)?
                }
                Dialect::Oss | Dialect::Us3 => {
                    let path = named_style_path(dialect, &bucket, &name);
                    let answer = remote
                        .call(Method::GET, &path, HeaderMap::new(), Bytes::new())
                        .await?;
                    parse_styles(dialect, &answer.body)?
                }
            };
            styles
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, body)| body)
                .ok_or_else(|| format!("404 NoSuchStyle: no style {name} in {bucket}"))
        }
        StyleCommand::List { bucket, dialect } => {
            let answer = remote
                .call(
                    Method::GET,
                    &format!("{}?{}", bucket_path(&bucket), dialect.style_resource()),
                    HeaderMap::new(),
                    Bytes::new(),
                )
                .await?;
            Ok(parse_styles(dialect, &answer.body)?
                .into_iter()
                .map(|(n, b)| format!("{n}\t{b}"))
                .collect::<Vec<_>>()
                .join("\n"))
        }
        StyleCommand::Delete {
            bucket,
            name,
            dialect,
        } => {
            let (path, headers, payload) = match dialect {
                Dialect::Cos => (
                    format!("{}?style", bucket_path(&bucket)),
                    content_type("application/xml"),
                    xml_body("DeleteStyle", &[("StyleName", &name)]),
                ),
                Dialect::Oss | Dialect::Us3 => (
                    named_style_path(dialect, &bucket, &name),
                    HeaderMap::new(),
                    String::new(),
                ),
            };
            remote
                .call(Method::DELETE, &path, headers, Bytes::from(payload))
                .await?;
            Ok(format!("deleted style {name} from {bucket}"))
        }
    }
}

/// The JSON argument of `image-config put`: literal text, `@file`, or `-`.
fn read_json_arg(arg: &str) -> Result<String, String> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(s);
    }
    if let Some(path) = arg.strip_prefix('@') {
        return std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"));
    }
    Ok(arg.to_string())
}

/// Runs `imgbucket image-config ...`; the text to print.
pub async fn image_config(remote: &Remote, cmd: ImageConfigCommand) -> Result<String, String> {
    let path = |bucket: &str| format!("{}?x-imgbucket-image-config", bucket_path(bucket));
    match cmd {
        ImageConfigCommand::Get { bucket } => {
            let answer = remote
                .call(Method::GET, &path(&bucket), HeaderMap::new(), Bytes::new())
                .await?;
            // Pretty-printed when it parses; verbatim otherwise.
            Ok(serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| String::from_utf8_lossy(&answer.body).into_owned()))
        }
        ImageConfigCommand::Put { bucket, json } => {
            let text = read_json_arg(&json)?;
            // Refused here rather than by the server only to name the
            // argument in the message; the server checks the fields.
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| format!("the settings are not JSON: {e}"))?;
            remote
                .call(
                    Method::PUT,
                    &path(&bucket),
                    content_type("application/json"),
                    Bytes::from(text),
                )
                .await?;
            Ok(format!("stored the image settings of {bucket}"))
        }
        ImageConfigCommand::Delete { bucket } => {
            remote
                .call(
                    Method::DELETE,
                    &path(&bucket),
                    HeaderMap::new(),
                    Bytes::new(),
                )
                .await?;
            Ok(format!("reset the image settings of {bucket}"))
        }
    }
}

/// Runs `imgbucket process`: fetches the processed variant, signed.
pub async fn process(remote: &Remote, args: ProcessArgs) -> Result<String, String> {
    let path = format!(
        "{}?{}",
        object_path(&args.bucket, &args.key),
        encode_query(&args.query)
    );
    let answer = remote
        .call(Method::GET, &path, HeaderMap::new(), Bytes::new())
        .await?;
    let kind = answer
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    match args.output {
        Some(file) => {
            std::fs::write(&file, &answer.body).map_err(|e| format!("{}: {e}", file.display()))?;
            Ok(format!(
                "{}: {} bytes, {kind}",
                file.display(),
                answer.body.len()
            ))
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&answer.body)
                .map_err(|e| format!("writing standard output: {e}"))?;
            Ok(String::new())
        }
    }
}

/// Runs `imgbucket presign`: a GET URL anyone can open until it expires.
pub fn presign(remote: &Remote, args: PresignArgs) -> Result<String, String> {
    if args.expires_in == 0 || args.expires_in > MAX_EXPIRES {
        return Err(format!(
            "--expires-in must be 1..={MAX_EXPIRES} seconds (7 days)"
        ));
    }
    let mut path = object_path(&args.bucket, &args.key);
    if let Some(q) = &args.process {
        path.push('?');
        path.push_str(&encode_query(q));
    }
    let uri = remote.uri(&path)?;
    let url = presign_v4(
        &Method::GET,
        &uri,
        &remote.creds,
        SystemTime::now(),
        Duration::from_secs(args.expires_in),
    )
    .map_err(|e| format!("cannot sign: {e}"))?;
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_as_signed_and_keep_their_shape() {
        assert_eq!(
            encode_query("x-oss-process=image/resize,w_300"),
            "x-oss-process=image%2Fresize%2Cw_300"
        );
        assert_eq!(
            encode_query("imageMogr2/thumbnail/300x"),
            "imageMogr2%2Fthumbnail%2F300x"
        );
        assert_eq!(
            encode_query("?iopcmd=thumbnail&type=4&width=300"),
            "iopcmd=thumbnail&type=4&width=300"
        );
        // Already encoded: not encoded twice.
        assert_eq!(
            encode_query("x-oss-process=image%2Fresize%2Cw_300"),
            "x-oss-process=image%2Fresize%2Cw_300"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn style_dialect_follows_the_body() {
        assert_eq!(Dialect::of_style_body("image/resize,w_1"), Dialect::Oss);
        assert_eq!(Dialect::of_style_body("iopcmd=thumbnail"), Dialect::Us3);
        assert_eq!(Dialect::of_style_body("imageMogr2/strip"), Dialect::Cos);
    }

    #[test]
    fn style_lists_of_every_dialect_parse() {
        let oss = b"<StyleList><Style><Name>a</Name><Content>image/resize,w_1</Content></Style></StyleList>";
        assert_eq!(
            parse_styles(Dialect::Oss, oss).ok(),
            Some(vec![("a".into(), "image/resize,w_1".into())])
        );
        let one = b"<Style><Name>a</Name><Content>image/x</Content></Style>";
        assert_eq!(
            parse_styles(Dialect::Oss, one).ok().map(|v| v.len()),
            Some(1)
        );
        let cos = b"<StyleList><StyleRule><StyleName>h</StyleName><StyleBody>imageMogr2/strip</StyleBody></StyleRule></StyleList>";
        assert_eq!(
            parse_styles(Dialect::Cos, cos).ok(),
            Some(vec![("h".into(), "imageMogr2/strip".into())])
        );
        assert_eq!(
            parse_styles(Dialect::Cos, oss).ok().map(|v| v.len()),
            Some(1)
        );
        let us3 = br#"{"RetCode":0,"Styles":[{"StyleName":"s","StyleBody":"iopcmd=x"}]}"#;
        assert_eq!(
            parse_styles(Dialect::Us3, us3).ok(),
            Some(vec![("s".into(), "iopcmd=x".into())])
        );
        assert!(parse_styles(Dialect::Us3, b"nope").is_err());
    }
}
