//! A light load generator for the 4 KiB phases of `bench/s3bench.py`: N
//! threads, each with one keep-alive connection, PUT or GET objects for a
//! fixed time and report every request's latency.
//!
//! Why it exists: the Python clients cost about 230 µs of CPU per request,
//! on the same two cores as the server, so they capped the figure they were
//! meant to measure. This one costs a few microseconds, and still does what
//! a client must: every request is signed afresh with SigV4 (the project's
//! own signer, `imgbucket::auth::client`, with the current time), and the
//! server verifies each signature as it would any SDK's. Bodies go as
//! `UNSIGNED-PAYLOAD`, as with the Python clients. Each PUT writes a key of
//! its own (`<prefix>/<worker>/<i>`); GETs cycle over the first `--keys` of
//! them and check the length of each body.
//!
//! `cargo build --release --example s3load`; `s3bench.py` runs it and
//! prints one JSON object: `{"latencies": [[seconds, ...] per worker]}`.

use http::{HeaderMap, HeaderValue, Method, Uri};
use imgbucket::auth::client::{sign_v4_request, Credentials};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

struct Args {
    port: u16,
    put: bool,
    clients: usize,
    seconds: f64,
    size: usize,
    keys: usize,
    bucket: String,
    prefix: String,
    access_key: String,
    secret_key: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: s3load --port P --mode put|get --access-key A --secret-key S \
         [--clients 8] [--seconds 10] [--size 4096] [--keys N] \
         [--bucket bench] [--prefix small]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        port: 0,
        put: true,
        clients: 8,
        seconds: 10.0,
        size: 4096,
        keys: 1,
        bucket: "bench".into(),
        prefix: "small".into(),
        access_key: String::new(),
        secret_key: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let ok = match flag.as_str() {
            "--port" => value.parse().map(|v| a.port = v).is_ok(),
            "--mode" => {
                a.put = value == "put";
                value == "put" || value == "get"
            }
            "--clients" => value.parse().map(|v| a.clients = v).is_ok(),
            "--seconds" => value.parse().map(|v| a.seconds = v).is_ok(),
            "--size" => value.parse().map(|v| a.size = v).is_ok(),
            "--keys" => value.parse().map(|v: usize| a.keys = v.max(1)).is_ok(),
            "--bucket" => {
                a.bucket = value;
                true
            }
            "--prefix" => {
                a.prefix = value;
                true
            }
            "--access-key" => {
                a.access_key = value;
                true
            }
            "--secret-key" => {
                a.secret_key = value;
                true
            }
            _ => false,
        };
        if !ok {
            usage();
        }
    }
    if a.port == 0 || a.access_key.is_empty() {
        usage();
    }
    a
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    /// Bytes read past the end of the previous response (none, in practice:
    /// one request is in flight at a time).
    buf: Vec<u8>,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

impl Conn {
    fn open(port: u16) -> Result<Conn, Failure> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one signed request; returns the response's body length.
    fn request(
        &mut self,
        method: &Method,
        host: &str,
        path: &str,
        body: &[u8],
        creds: &Credentials,
    ) -> Result<usize, Failure> {
        let uri: Uri = format!("http://{host}{path}").parse()?;
        let mut headers = HeaderMap::new();
        if *method == Method::PUT {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let payload = if *method == Method::PUT {
            "UNSIGNED-PAYLOAD"
        } else {
            // SHA-256 of the empty body.
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        };
        sign_v4_request(
            method,
            &uri,
            &mut headers,
            payload,
            creds,
            SystemTime::now(),
        )?;
        let mut out = Vec::with_capacity(512 + body.len());
        write!(out, "{method} {path} HTTP/1.1\r\n")?;
        for (name, value) in &headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        self.stream.write_all(&out)?;
        self.read_response()
    }

    fn fill(&mut self) -> Result<(), Failure> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    fn read_response(&mut self) -> Result<usize, Failure> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill()?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("no status line")?;
        let mut length = 0usize;
        for line in head.split("\r\n").skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err("chunked responses are not handled".into());
                }
            }
        }
        while self.buf.len() < head_end + length {
            self.fill()?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        if status >= 300 {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(length)
    }
}

fn worker(a: &Args, w: usize) -> Result<Vec<f64>, Failure> {
    let creds = Credentials::new(&a.access_key, &a.secret_key, "us-east-1");
    let host = format!("127.0.0.1:{}", a.port);
    let mut conn = Conn::open(a.port)?;
    let mut body = vec![0u8; if a.put { a.size } else { 0 }];
    getrandom::fill(&mut body).map_err(|e| e.to_string())?;
    let method = if a.put { Method::PUT } else { Method::GET };
    let mut latencies = Vec::with_capacity(1 << 16);
    let end = Instant::now() + Duration::from_secs_f64(a.seconds);
    let mut i = 0usize;
    while Instant::now() < end {
        let n = if a.put { i } else { i % a.keys };
        let path = format!("/{}/{}/{w}/{n}", a.bucket, a.prefix);
        let t0 = Instant::now();
        let len = conn.request(&method, &host, &path, &body, &creds)?;
        latencies.push(t0.elapsed().as_secs_f64());
        if !a.put && len != a.size {
            return Err(format!("GET {path}: {len} bytes, expected {}", a.size).into());
        }
        i += 1;
    }
    Ok(latencies)
}

fn main() {
    let a = parse_args();
    let results: Vec<Result<Vec<f64>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.clients)
            .map(|w| {
                let a = &a;
                s.spawn(move || worker(a, w).map_err(|e| e.to_string()))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
            .collect()
    });
    let mut lists = Vec::new();
    for (w, r) in results.into_iter().enumerate() {
        match r {
            Ok(l) => lists.push(l),
            Err(e) => {
                eprintln!("s3load: worker {w}: {e}");
                std::process::exit(1);
            }
        }
    }
    let json = serde_json::json!({ "latencies": lists });
    println!("{json}");
}
