//! The `imgbucket` command line: parses flags, environment and the config
//! file once, opens the store, binds the listener and runs the server until
//! SIGINT/SIGTERM.

use clap::{Parser, Subcommand};
use imgbucket::config::{resolve_credentials, FileConfig, Limits, ServerConfig};
use imgbucket::front::{AppState, S3Config};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "imgbucket",
    version,
    about = "S3-compatible object store with image processing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
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
}

/// Default listening address.
const DEFAULT_ADDR: &str = "127.0.0.1:9000";

fn build_config(args: ServeArgs) -> Result<(ServerConfig, bool), String> {
    let (path, required) = match args.config {
        Some(p) => (p, true),
        None => (PathBuf::from("imgbucket.toml"), false),
    };
    let file = FileConfig::load(&path, required).map_err(|e| e.to_string())?;
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
    let (credentials, generated) =
        resolve_credentials(env, &file, &data_dir).map_err(|e| e.to_string())?;
    let default_addr: SocketAddr = DEFAULT_ADDR.parse().map_err(|e| format!("{e}"))?;
    let mut limits = Limits::default();
    if let Some(n) = file.min_part_size {
        limits.min_part_size = n;
    }
    if let Some(n) = file.max_xml_body {
        limits.max_xml_body = n;
    }
    let config = ServerConfig {
        addr: args.addr.or(file.addr).unwrap_or(default_addr),
        data_dir,
        region: args
            .region
            .or(file.region)
            .unwrap_or_else(|| "us-east-1".into()),
        domain: args.domain.or(file.domain),
        credentials,
        limits,
        shutdown_grace: Duration::from_secs(10),
        processing: file.processing,
    };
    Ok((config, generated))
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

async fn serve(args: ServeArgs) -> Result<(), String> {
    let (config, generated) = build_config(args)?;
    if generated {
        eprintln!(
            "imgbucket: generated credentials (stored in {}):\n  AWS_ACCESS_KEY_ID={}\n  AWS_SECRET_ACCESS_KEY={}",
            config.data_dir.join(imgbucket::config::KEY_FILE).display(),
            config.credentials.access_key,
            config.credentials.secret_key
        );
    }
    let store = storage::embedded::EmbeddedStore::open(&config.data_dir)
        .map_err(|e| format!("cannot open store in {}: {e}", config.data_dir.display()))?;
    let s3 = S3Config {
        region: config.region.clone(),
        domain: config.domain.clone(),
        limits: config.limits.clone(),
    };
    let creds = [(
        config.credentials.access_key.clone(),
        config.credentials.secret_key.clone(),
    )];
    let state = Arc::new(AppState::new(Arc::new(store), s3, &creds).with_processing(
        config.processing.clone(),
        Some(config.data_dir.join("cache")),
    ));
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("imgbucket listening on http://{local}");
    tracing::info!(addr = %local, data = %config.data_dir.display(), region = %config.region, "started");
    imgbucket::server::run(listener, state, shutdown, config.shutdown_grace).await;
    tracing::info!("stopped");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
        Command::Serve(args) => runtime.block_on(serve(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imgbucket: {e}");
            ExitCode::from(2)
        }
    }
}
