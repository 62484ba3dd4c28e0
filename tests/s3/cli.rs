//! The `imgbucket serve` binary: start-up output, generated credentials,
//! the config file, graceful shutdown on SIGTERM.

use crate::common::harness;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary, returns the child, the listening URL and the stderr
/// lines printed before it.
fn start(data: &std::path::Path) -> (std::process::Child, String, Vec<String>) {
    start_with(data, &[])
}

/// As [`start`], with extra arguments.
fn start_with(
    data: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgbucket"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(extra)
        .env_remove("IMGBUCKET_ACCESS_KEY")
        .env_remove("IMGBUCKET_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .current_dir(data.parent().unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "exited early: {lines:?}"
        );
        if let Some(url) = line.trim().strip_prefix("imgbucket listening on ") {
            break url.to_string();
        }
        lines.push(line.trim().to_string());
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    (child, url, lines)
}

fn stop(mut child: std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "exit status {st:?}");
            return;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_generates_and_reuses_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, url, lines) = start(&data);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let printed = lines.join("\n");
    assert!(printed.contains("AWS_ACCESS_KEY_ID="), "{printed}");
    let key_file = data.join(imgbucket::config::KEY_FILE);
    let stored = std::fs::read_to_string(&key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let access = printed
        .split("AWS_ACCESS_KEY_ID=")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(stored.contains(access));
    stop(child);

    // Second start: same key, not printed again.
    let (child, _, lines) = start(&data);
    assert!(!lines.join("\n").contains("AWS_SECRET_ACCESS_KEY"));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), stored);
    stop(child);
}

/// A blocking, signed HTTP/1.1 GET over a fresh connection; returns the
/// status and body.
fn signed_get(url: &str, path: &str, access: &str, secret: &str, region: &str) -> (u16, String) {
    use imgbucket::auth::sign::{self, Credentials};
    use std::io::{Read, Write};
    let uri: http::Uri = format!("{url}{path}").parse().unwrap();
    let mut h = http::HeaderMap::new();
    let creds = Credentials::new(access, secret, region);
    sign::sign_v4_request(
        &http::Method::GET,
        &uri,
        &mut h,
        &sign::payload_sha256(b""),
        &creds,
        std::time::SystemTime::now(),
    )
    .unwrap();
    h.insert("connection", "close".parse().unwrap());
    let req = harness::raw_head("GET", path, &h);
    let mut conn = std::net::TcpStream::connect(uri.authority().unwrap().as_str()).unwrap();
    conn.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn config_file_sets_credentials_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("custom.toml");
    std::fs::write(
        &config,
        "access_key = \"CFGKEY\"\nsecret_key = \"cfg-secret-0123456789\"\nregion = \"eu-test-1\"\n",
    )
    .unwrap();
    let (child, url, lines) = start_with(&data, &["--config", config.to_str().unwrap()]);
    assert!(!lines.join("\n").contains("AWS_ACCESS_KEY_ID"), "{lines:?}");
    assert!(!data.join(imgbucket::config::KEY_FILE).exists());
    let (status, body) = signed_get(&url, "/", "CFGKEY", "cfg-secret-0123456789", "eu-test-1");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<ListAllMyBucketsResult"));
    let (status, body) = signed_get(&url, "/", "CFGKEY", "wrong", "eu-test-1");
    assert_eq!(status, 403, "{body}");
    stop(child);

    // A named config file that does not parse is a start-up error (exit 2).
    std::fs::write(&config, "acces_key = \"typo\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imgbucket"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid config"));
}
