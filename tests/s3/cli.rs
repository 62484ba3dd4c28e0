//! The `imgbucket serve` binary: start-up output, generated credentials,
//! graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary, returns the child, the listening URL and the stderr
/// lines printed before it.
fn start(data: &std::path::Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgbucket"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
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
