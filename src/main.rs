//! The `imgbucket` command line: parses flags, environment and the config
//! file once, opens the store, binds the listener and runs the server until
//! SIGINT/SIGTERM.

mod admin_cli;
mod client_cli;
mod remote;

use clap::{Parser, Subcommand};
use imgbucket::config::{
    explicit_credentials, resolve_credentials, Credentials, FileConfig, Limits, LogFormat,
    ServerConfig,
};
use imgbucket::front::{AppState, S3Config};
use imgbucket::gateway::{BackendConfig, GatewayStore, SHARED_STATE_TTL};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Shortest admin secret accepted at start-up (the same rule as
/// `[[users]]`, `users::check_key_pair`).
const MIN_SECRET_CHARS: usize = 16;

/// jemalloc with background purging: after a burst of image jobs the
/// freed pages return to the system within seconds, where glibc's
/// per-thread arenas kept hundreds of MiB (docs/memory.md).
#[cfg(all(target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(
    name = "imgbucket",
    version,
    about = "S3-compatible object store with image processing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Call a running server's admin API (IMGBUCKET_ENDPOINT, and the
    /// admin's IMGBUCKET_ACCESS_KEY / IMGBUCKET_SECRET_KEY).
    #[command(subcommand)]
    Admin(admin_cli::AdminCommand),
    /// Manage a bucket's styles through the OSS, COS or US3 style API.
    #[command(subcommand)]
    Style(client_cli::StyleCommand),
    /// Read or replace a bucket's image settings (separators, source
    /// protection, metadata policy).
    #[command(subcommand)]
    ImageConfig(client_cli::ImageConfigCommand),
    /// Fetch a processed variant of an object, signed.
    Process(client_cli::ProcessArgs),
    /// Print a presigned GET URL, optionally with a processing query.
    Presign(client_cli::PresignArgs),
    /// Check a config file without starting the server.
    CheckConfig {
        /// The TOML file (default: ./imgbucket.toml).
        #[arg(default_value = "imgbucket.toml")]
        file: PathBuf,
    },
}

/// Flags every client subcommand shares.
#[derive(clap::Args, Debug)]
struct ClientArgs {
    /// The server (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
    /// IMGBUCKET_ENDPOINT, else http://127.0.0.1:9000; `admin` reads
    /// IMGBUCKET_ENDPOINT first).
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Directory for all data (metadata, objects, generated credentials).
    #[arg(long)]
    data: Option<PathBuf>,
    /// TOML config file (default: ./imgbucket.toml if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Domain for virtual-host style addressing (`bucket.<domain>`).
    #[arg(long)]
    domain: Option<String>,
    /// Region reported to clients.
    #[arg(long)]
    region: Option<String>,
    /// Gateway mode: keep everything in this S3 store (`http://host:port`
    /// or `https://host`)
    /// instead of the embedded one. Keys: IMGBUCKET_BACKEND_ACCESS_KEY and
    /// IMGBUCKET_BACKEND_SECRET_KEY.
    #[arg(long)]
    backend: Option<String>,
    /// The region the backend signs for (Garage: `garage`).
    #[arg(long)]
    backend_region: Option<String>,
    /// PEM certificates to trust for an https:// backend, besides the
    /// system's CA store.
    #[arg(long)]
    backend_ca_file: Option<PathBuf>,
    /// The backend bucket that holds the nodes' shared state.
    #[arg(long)]
    backend_meta_bucket: Option<String>,
    /// Seconds to wait for the backend before answering 503.
    #[arg(long)]
    backend_timeout: Option<u64>,
    /// Log lines as `text` or `json` (default: `[log] format`, else text).
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

/// Default listening address.
const DEFAULT_ADDR: &str = "127.0.0.1:9000";

/// The backend of gateway mode, from flags, environment and `[backend]`;
/// `None` without an endpoint (embedded mode).
fn backend_config(args: &ServeArgs, file: &FileConfig) -> Result<Option<BackendConfig>, String> {
    let b = &file.backend;
    let Some(endpoint) = args.backend.clone().or(b.endpoint.clone()) else {
        return Ok(None);
    };
    let endpoint = endpoint
        .parse()
        .map_err(|e| format!("--backend {endpoint}: {e}"))?;
    let env = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    let access_key = env("IMGBUCKET_BACKEND_ACCESS_KEY").or(b.access_key.clone());
    let secret_key = env("IMGBUCKET_BACKEND_SECRET_KEY").or(b.secret_key.clone());
    let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
        return Err(
            "gateway mode needs the backend's key: set IMGBUCKET_BACKEND_ACCESS_KEY and \
             IMGBUCKET_BACKEND_SECRET_KEY (or access_key/secret_key under [backend])"
                .into(),
        );
    };
    Ok(Some(BackendConfig {
        endpoint,
        ca_file: args.backend_ca_file.clone().or(b.ca_file.clone()),
        region: args
            .backend_region
            .clone()
            .or(b.region.clone())
            .unwrap_or_else(|| "us-east-1".into()),
        meta_bucket: args
            .backend_meta_bucket
            .clone()
            .or(b.meta_bucket.clone())
            .unwrap_or_else(|| "imgbucket-meta".into()),
        access_key,
        secret_key,
        timeout: Duration::from_secs(args.backend_timeout.or(b.timeout_secs).unwrap_or(10)),
    }))
}

/// Where the store lives, and where the clients' keys come from.
enum Storage {
    Embedded,
    Gateway(GatewayStore),
}

/// The key pair of gateway mode: given explicitly, or the one every node
/// shares in the meta bucket (generated there by the first node).
async fn gateway_credentials(
    given: Option<Credentials>,
    store: &GatewayStore,
) -> Result<(Credentials, bool), String> {
    if let Some(c) = given {
        return Ok((c, false));
    }
    let generate = || {
        let c = imgbucket::config::generate_credentials()?;
        imgbucket::config::key_file_text(&c).map(String::into_bytes)
    };
    let (doc, generated) = store
        .shared_credentials(generate)
        .await
        .map_err(|e| format!("cannot read or store the shared key pair in the backend: {e}"))?;
    let text = std::str::from_utf8(&doc).map_err(|e| format!("shared key pair: {e}"))?;
    let creds =
        imgbucket::config::parse_key_file(text).map_err(|e| format!("shared key pair: {e}"))?;
    Ok((creds, generated))
}

/// Reads the config file named by `--config` (or `./imgbucket.toml` if
/// it exists), once.
fn load_file(args: &ServeArgs) -> Result<FileConfig, String> {
    let (path, required) = match args.config.clone() {
        Some(p) => (p, true),
        None => (PathBuf::from("imgbucket.toml"), false),
    };
    FileConfig::load(&path, required).map_err(|e| e.to_string())
}

async fn build_config(
    args: ServeArgs,
    file: FileConfig,
) -> Result<(ServerConfig, Storage, bool), String> {
    let backend = backend_config(&args, &file)?;
    let data_dir = args
        .data
        .or(file.data.clone())
        .unwrap_or_else(|| PathBuf::from("./data"));
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let env = (
        std::env::var("IMGBUCKET_ACCESS_KEY")
            .ok()
            .filter(|s| !s.is_empty()),
        std::env::var("IMGBUCKET_SECRET_KEY")
            .ok()
            .filter(|s| !s.is_empty()),
    );
    // Where the admin's key pair comes from, in the order it is looked for;
    // logged at start-up so an operator sees which one won.
    let key_file = data_dir.join(imgbucket::config::KEY_FILE);
    let explicit = if env.0.is_some() || env.1.is_some() {
        Some("the environment (IMGBUCKET_ACCESS_KEY, IMGBUCKET_SECRET_KEY)")
    } else if file.access_key.is_some() || file.secret_key.is_some() {
        Some("the config file")
    } else {
        None
    };
    let gateway = backend.is_some();
    let (storage, (credentials, generated)) = match backend {
        None => (
            Storage::Embedded,
            resolve_credentials(env, &file, &data_dir).map_err(|e| e.to_string())?,
        ),
        Some(b) => {
            let store = GatewayStore::new(b, data_dir.join("spool"))?;
            let given = explicit_credentials(env, &file).map_err(|e| e.to_string())?;
            let creds = gateway_credentials(given, &store).await?;
            (Storage::Gateway(store), creds)
        }
    };
    let source = match (explicit, gateway, generated) {
        (Some(s), _, _) => s.to_string(),
        (None, true, true) => {
            "a key pair generated now, stored in the backend's meta bucket".into()
        }
        (None, true, false) => "the key pair stored in the backend's meta bucket".into(),
        (None, false, true) => {
            format!("a key pair generated now, stored in {}", key_file.display())
        }
        (None, false, false) => format!("the generated key file {}", key_file.display()),
    };
    // A secret short enough to guess is refused, as for [[users]]; a
    // generated one is 40 characters.
    if credentials.secret_key.chars().count() < MIN_SECRET_CHARS {
        return Err(format!(
            "the admin secret key from {source} is shorter than {MIN_SECRET_CHARS} characters; \
             use a longer random secret"
        ));
    }
    tracing::info!(access_key = %credentials.access_key, "admin credentials from {source}");
    if explicit.is_some() && !gateway && key_file.exists() {
        // Explicit keys win over a key file generated on an earlier start;
        // say so, since the printed generated keys no longer work.
        tracing::warn!(
            "{} exists but is ignored: the admin credentials come from {source}",
            key_file.display()
        );
    }
    if file.lifecycle.interval_secs == 0 || file.lifecycle.day_secs == 0 {
        return Err("[lifecycle] interval_secs and day_secs must be at least 1".into());
    }
    let default_addr: SocketAddr = DEFAULT_ADDR.parse().map_err(|e| format!("{e}"))?;
    let mut limits = Limits::default();
    if let Some(n) = file.min_part_size {
        limits.min_part_size = n;
    }
    if let Some(n) = file.max_xml_body {
        limits.max_xml_body = n;
    }
    limits.body_idle_timeout = file.http.body_idle_timeout()?;
    let connections = file.http.connection_options(Duration::from_secs(10))?;
    let config = ServerConfig {
        addr: args.addr.or(file.addr).unwrap_or(default_addr),
        data_dir,
        region: args
            .region
            .or(file.region)
            .unwrap_or_else(|| "us-east-1".into()),
        domain: args.domain.or(file.domain),
        credentials,
        users: file.users,
        limits,
        processing: file.processing,
        lifecycle: file.lifecycle,
        cors: file.cors,
        health: file.health,
        metrics: file.metrics,
        connections,
    };
    Ok((config, storage, generated))
}

/// A future that completes on SIGINT or SIGTERM. The handlers are
/// installed *now*, before the server announces itself, so a signal sent
/// right after the "listening" line is never lost (the default action would
/// kill the process without draining).
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int =
            signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

async fn serve(args: ServeArgs, file: FileConfig) -> Result<(), String> {
    let (config, storage, generated) = build_config(args, file).await?;
    if generated {
        let place = match storage {
            Storage::Embedded => config
                .data_dir
                .join(imgbucket::config::KEY_FILE)
                .display()
                .to_string(),
            Storage::Gateway(_) => "the backend's meta bucket, shared by every node".into(),
        };
        eprintln!(
            "imgbucket: generated credentials (stored in {place}):\n  AWS_ACCESS_KEY_ID={}\n  AWS_SECRET_ACCESS_KEY={}",
            config.credentials.access_key,
            config.credentials.secret_key
        );
    }
    let mut processing = config.processing.clone();
    if matches!(storage, Storage::Gateway(_)) {
        processing = processing.for_gateway();
    }
    let (store, settings_ttl, backend_metrics): (Arc<dyn storage::Store>, _, _) = match storage {
        Storage::Embedded => {
            let store = storage::embedded::EmbeddedStore::open(&config.data_dir)
                .map_err(|e| format!("cannot open store in {}: {e}", config.data_dir.display()))?;
            (Arc::new(store), None, None)
        }
        // Other nodes change bucket settings too: re-read them this often.
        Storage::Gateway(store) => {
            let m = store.backend_metrics();
            (Arc::new(store), Some(SHARED_STATE_TTL), Some(m))
        }
    };
    let cors_default = config
        .cors
        .as_ref()
        .map(imgbucket::http::cors::CorsRule::from_default)
        .transpose()
        .map_err(|e| format!("[cors] in the config file: {e}"))?;
    let s3 = S3Config {
        region: config.region.clone(),
        domain: config.domain.clone(),
        limits: config.limits.clone(),
    };
    let admin = (
        config.credentials.access_key.clone(),
        config.credentials.secret_key.clone(),
    );
    let users = imgbucket::users::Users::new(store.clone(), admin.clone())
        .with_config_users(
            &config
                .users
                .iter()
                .map(|u| imgbucket::users::User {
                    name: u.name.clone(),
                    access_key: u.access_key.clone(),
                    secret_key: u.secret_key.clone(),
                    created: 0,
                })
                .collect::<Vec<_>>(),
        )?
        .with_ttl(settings_ttl);
    if let Err(e) = users.load().await {
        // A gateway node starts while its backend is down; it reads the
        // users again once the backend answers.
        tracing::warn!(error = %e, "cannot read the stored users yet");
    }
    let state = Arc::new(
        AppState::new(store, s3, admin)
            .with_users(users)
            .with_processing(processing, Some(config.data_dir.join("cache")))
            .with_settings_ttl(settings_ttl)
            .with_cors_default(cors_default)
            .with_health(config.health.clone())
            .with_metrics(config.metrics.clone())
            .with_backend_metrics(backend_metrics)
            .with_lifecycle(imgbucket::lifecycle::SweepSettings::from_config(
                &config.lifecycle,
            )),
    );
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("imgbucket listening on http://{local}");
    tracing::info!(addr = %local, data = %config.data_dir.display(), region = %config.region, "started");
    imgbucket::server::run(listener, state, shutdown, config.connections).await;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the log subscriber: `RUST_LOG` filters (default `info`),
/// lines go to stderr as text or JSON.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Runs one of the client subcommands against a running server.
async fn run_client(command: Command, args: ClientArgs) -> Result<String, String> {
    let order = match command {
        Command::Admin(_) => remote::EnvOrder::ImgbucketFirst,
        _ => remote::EnvOrder::AwsFirst,
    };
    let remote = remote::Remote::from_env(args.endpoint_url.as_deref(), order)?;
    match command {
        Command::Admin(cmd) => admin_cli::run(&remote, cmd).await,
        Command::Style(cmd) => client_cli::style(&remote, cmd).await,
        Command::ImageConfig(cmd) => client_cli::image_config(&remote, cmd).await,
        Command::Process(args) => client_cli::process(&remote, args).await,
        Command::Presign(args) => client_cli::presign(&remote, args),
        Command::Serve(_) | Command::CheckConfig { .. } => Err("not a client command".into()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The serve command's log format comes from its flags or config file,
    // which are read before the first log line.
    let serve_file = match &cli.command {
        Command::Serve(args) => match load_file(args) {
            Ok(file) => {
                init_logging(args.log_format.unwrap_or(file.log.format));
                Some(file)
            }
            Err(e) => {
                eprintln!("imgbucket: {e}");
                return ExitCode::from(2);
            }
        },
        _ => {
            init_logging(LogFormat::Text);
            None
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("imgbucket: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args, serve_file.unwrap_or_default())),
        Command::CheckConfig { file } => FileConfig::load(&file, true)
            .map(|_| println!("{}: ok", file.display()))
            .map_err(|e| e.to_string()),
        command => runtime
            .block_on(run_client(command, cli.client))
            .map(|text| {
                if !text.is_empty() {
                    println!("{text}")
                }
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imgbucket: {e}");
            ExitCode::from(2)
        }
    }
}
