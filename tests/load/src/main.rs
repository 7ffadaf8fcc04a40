//! `mcp-load`: drives MCP servers with N concurrent clients over Streamable HTTP or
//! WebSocket for a bounded time or request count, and reports throughput and latency
//! percentiles (HDR histograms), as a table, as JSON and as an SVG plot.
//!
//! Several targets in one invocation run one after the other under the same load, so that a
//! server and a peer are compared on the same machine in the same run:
//!
//! ```sh
//! mcp-load requests --clients 32 --seconds 10 --plot latency.svg \
//!     http:ours=http://127.0.0.1:8787/mcp ws:ours=ws://127.0.0.1:8787/ws http:rmcp=http://127.0.0.1:8788/mcp
//! ```
//!
//! Every request is a 2026-07-28 `tools/call` of the `echo` tool (no session, no
//! initialization), the request both servers answer without any state; with `--era session`
//! it is a 2025-11-25 `tools/call` in a session each client opened once.
//!
//! `mcp-load fanout` measures the other direction: one resource update delivered to N
//! subscribed WebSocket connections. `mcp-load cold-start` times each function binary from
//! exec to its first handled event. `mcp-load soak` runs mixed traffic for a bounded time
//! and samples the gateway's memory.

mod client;
mod coldstart;
mod fanout;
mod plot;
mod report;
mod request;
mod run;
mod soak;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use crate::run::Load;
use crate::target::{Era, Target};

#[derive(Parser)]
#[command(name = "mcp-load", about = "Load generator for MCP servers (Streamable HTTP and WebSocket)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Requests: N clients calling `echo` as fast as they are answered.
    Requests(RequestArgs),
    /// Fan-out: one resource update delivered to N subscribed WebSocket connections.
    Fanout(FanOutArgs),
    /// Cold start: exec of each function binary to its first handled event.
    ColdStart(ColdStartArgs),
    /// Soak: mixed traffic (WebSocket and HTTP sessions, stateless calls, fan-out) for a
    /// bounded time, with the gateway's memory sampled; fails on any error.
    Soak(SoakArgs),
}

#[derive(clap::Args)]
struct SoakArgs {
    /// The gateway's Streamable HTTP endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8787/mcp")]
    http: http::Uri,
    /// The gateway's WebSocket endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8787/ws")]
    ws: http::Uri,
    /// Concurrent clients, spread over the four kinds.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, default_value_t = 300.0)]
    seconds: f64,
    /// The gateway's process id, to sample its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long, default_value_t = 5.0)]
    sample_seconds: f64,
    /// Fails when resident memory grows more than this (percent) from once warm to the end.
    #[arg(long)]
    max_rss_growth: Option<f64>,
    /// Writes the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ColdStartArgs {
    /// Where the function binaries are.
    #[arg(long, default_value = "target/release")]
    dir: PathBuf,
    /// The DynamoDB endpoint the functions use (its table must exist).
    #[arg(long)]
    dynamodb_endpoint: String,
    #[arg(long, default_value = "mcp-serverless")]
    table: String,
    /// Starts of each binary.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Keep each function's output (JSON logs, EMF lines) of its last start in this folder.
    #[arg(long)]
    logs: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RequestArgs {
    /// Targets, run one after the other: `http:NAME=URL` (Streamable HTTP) or `ws:NAME=URL`
    /// (WebSocket, subprotocol `mcp`). Ratios are given against the first.
    #[arg(required = true)]
    targets: Vec<Target>,
    /// Concurrent clients, each with its own connection and one request in flight.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// The protocol era every client speaks: `stateless` (2026-07-28 calls, no
    /// initialization) or `session` (2025-11-25: one `initialize` per client, then calls
    /// in its session).
    #[arg(long, value_enum, default_value_t = Era::Stateless)]
    era: Era,
    /// How long each target is measured.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Stop each target after this many requests instead (whichever comes first).
    #[arg(long)]
    requests: Option<u64>,
    /// Unmeasured load before each measurement (connections and caches warm up).
    #[arg(long, default_value_t = 1.0)]
    warmup_seconds: f64,
    /// Writes the latency distributions of every target as an SVG plot.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Writes the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar (for logs).
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct FanOutArgs {
    /// The gateway's WebSocket endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8787/ws")]
    ws: http::Uri,
    /// The gateway's Streamable HTTP endpoint (the update is a `note_write` call there).
    #[arg(long, default_value = "http://127.0.0.1:8787/mcp")]
    http: http::Uri,
    /// Subscribed connections.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Updates measured, one after the other.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Connections being opened and subscribed at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// No progress bar (for logs).
    #[arg(long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Requests(args) => requests(args).await,
        Command::Fanout(args) => {
            anyhow::ensure!(args.connections > 0 && args.rounds > 0, "--connections and --rounds must be at least 1");
            let f = fanout::FanOut {
                ws: args.ws,
                http: args.http,
                connections: args.connections,
                rounds: args.rounds,
                connect_concurrency: args.connect_concurrency.max(1),
                progress: !args.quiet,
            };
            let rounds = fanout::run(&f).await?;
            print!("{}", fanout::table(&f, &rounds));
            Ok(())
        }
        Command::ColdStart(args) => {
            anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
            let c = coldstart::ColdStart {
                dir: args.dir,
                dynamodb_endpoint: args.dynamodb_endpoint,
                table: args.table,
                runs: args.runs,
                logs: args.logs,
            };
            print!("{}", coldstart::table(&coldstart::run(&c).await?, c.runs));
            Ok(())
        }
        Command::Soak(args) => soak(args).await,
    }
}

async fn soak(args: SoakArgs) -> Result<()> {
    anyhow::ensure!(args.clients >= 4, "--clients must be at least 4 (one of each kind)");
    anyhow::ensure!(args.seconds > 0.0 && args.sample_seconds > 0.0, "--seconds and --sample-seconds must be positive");
    let report = soak::run(soak::Soak {
        http: args.http,
        ws: args.ws,
        clients: args.clients,
        duration: Duration::from_secs_f64(args.seconds),
        pid: args.pid,
        sample_every: Duration::from_secs_f64(args.sample_seconds),
    })
    .await?;
    print!("{}", soak::table(&report));
    if let Some(path) = &args.json {
        std::fs::write(path, soak::json(&report))?;
    }
    anyhow::ensure!(report.errors() == 0, "{} error(s)", report.errors());
    if let (Some(limit), Some((warm, end))) = (args.max_rss_growth, report.warm_and_end_kib()) {
        let growth = (end as f64 / warm as f64 - 1.0) * 100.0;
        anyhow::ensure!(growth <= limit, "resident memory grew {growth:.1}% once warm (limit {limit}%)");
    }
    Ok(())
}

async fn requests(args: RequestArgs) -> Result<()> {
    anyhow::ensure!(args.clients > 0, "--clients must be at least 1");
    anyhow::ensure!(args.seconds > 0.0, "--seconds must be positive");
    let load = Load {
        clients: args.clients,
        duration: Duration::from_secs_f64(args.seconds),
        requests: args.requests,
        warmup: Duration::from_secs_f64(args.warmup_seconds.max(0.0)),
        progress: !args.quiet,
    };
    let mut results = Vec::new();
    for target in &args.targets {
        let target = Target { era: args.era, ..target.clone() };
        results.push(run::measure(&target, &load).await?);
    }
    print!("{}", report::table(&results, &load));
    if let Some(path) = &args.json {
        std::fs::write(path, report::json(&results, &load))?;
        println!("figures: {}", path.display());
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, plot::svg(&results, &load))?;
        println!("plot: {}", path.display());
    }
    // A target that answered with errors did not serve the load it is credited with.
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    anyhow::ensure!(errors == 0, "{errors} request(s) failed");
    Ok(())
}
