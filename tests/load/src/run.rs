//! One measurement: N clients against one target for a bounded time or count, each
//! recording its latencies in its own HDR histogram (merged at the end), with a progress bar.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::Client;
use crate::target::Target;

/// The same for every target of a run.
pub struct Load {
    pub clients: usize,
    pub duration: Duration,
    pub requests: Option<u64>,
    pub warmup: Duration,
    pub progress: bool,
}

/// What one target did under the load.
pub struct Measured {
    pub target: Target,
    /// Latencies in microseconds.
    pub latency: Histogram<u64>,
    pub completed: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// CPU time the server process used during the measurement (with its pid given).
    pub server_cpu: Option<Duration>,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    /// The server's CPU microseconds per completed request: its efficiency, which the load
    /// generator sharing the machine does not blur.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        self.server_cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / self.completed.max(1) as f64)
    }
}

/// A process's user plus system CPU time so far (Linux `/proc/PID/stat`).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Latencies from 1 µs to 60 s, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| panic!("histogram bounds: {e}"))
}

struct Shared {
    completed: AtomicU64,
    errors: AtomicU64,
    next_id: AtomicU64,
}

pub async fn measure(target: &Target, load: &Load) -> Result<Measured> {
    // All clients connect before the clock starts.
    let mut clients = Vec::with_capacity(load.clients);
    for _ in 0..load.clients {
        clients.push(Client::connect(target).await?);
    }
    if !load.warmup.is_zero() {
        let (returned, _) = drive(clients, target, load.warmup, None, None).await;
        clients = returned;
        anyhow::ensure!(!clients.is_empty(), "{}: every client failed during warm-up", target.label());
    }
    let bar = progress_bar(target, load);
    let cpu_before = target.pid.and_then(cpu_time);
    let started = Instant::now();
    let (_, results) = drive(clients, target, load.duration, load.requests, bar.clone()).await;
    let elapsed = started.elapsed();
    let server_cpu = match (cpu_before, target.pid.and_then(cpu_time)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    let mut latency = histogram();
    let (mut completed, mut errors) = (0, 0);
    for (h, ok, failed) in results {
        latency.add(&h).map_err(|e| anyhow::anyhow!("merging histograms: {e}"))?;
        completed += ok;
        errors += failed;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Measured { target: target.clone(), latency, completed, errors, elapsed, server_cpu })
}

fn progress_bar(target: &Target, load: &Load) -> Option<ProgressBar> {
    if !load.progress {
        return None;
    }
    let bar = ProgressBar::new(load.duration.as_millis() as u64);
    let style = ProgressStyle::with_template("{prefix:>16} [{bar:40}] {elapsed_precise} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(target.label());
    Some(bar)
}

/// Runs every client until `duration` passes or `limit` requests are done; returns the
/// clients still connected and, per client, its histogram, completed and failed counts.
async fn drive(
    clients: Vec<Client>,
    target: &Target,
    duration: Duration,
    limit: Option<u64>,
    bar: Option<ProgressBar>,
) -> (Vec<Client>, Vec<(Histogram<u64>, u64, u64)>) {
    let shared =
        Arc::new(Shared { completed: AtomicU64::new(0), errors: AtomicU64::new(0), next_id: AtomicU64::new(1) });
    let deadline = Instant::now() + duration;
    let ticker = bar.map(|bar| tokio::spawn(tick(shared.clone(), bar)));
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let shared = shared.clone();
            let target = target.clone();
            tokio::spawn(async move { one_client(client, &target, &shared, deadline, limit).await })
        })
        .collect();
    let mut returned = Vec::new();
    let mut results = Vec::new();
    for task in tasks {
        if let Ok((client, h, ok, failed)) = task.await {
            returned.extend(client);
            results.push((h, ok, failed));
        }
    }
    if let Some(t) = ticker {
        t.abort();
    }
    (returned, results)
}

async fn one_client(
    mut client: Client,
    target: &Target,
    shared: &Shared,
    deadline: Instant,
    limit: Option<u64>,
) -> (Option<Client>, Histogram<u64>, u64, u64) {
    let mut h = histogram();
    let (mut ok, mut failed) = (0, 0);
    while Instant::now() < deadline {
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        if limit.is_some_and(|l| id > l) {
            break;
        }
        let sent = Instant::now();
        match client.call(id).await {
            Ok(true) => {
                let _ = h.record((sent.elapsed().as_micros() as u64).max(1));
                ok += 1;
                shared.completed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {
                failed += 1;
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                failed += 1;
                shared.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("{}: {e:#}; reconnecting", target.label());
                match Client::connect(target).await {
                    Ok(c) => client = c,
                    Err(_) => return (None, h, ok, failed),
                }
            }
        }
    }
    (Some(client), h, ok, failed)
}

/// Moves the progress bar ten times a second: time elapsed, requests done, rate, errors.
async fn tick(shared: Arc<Shared>, bar: ProgressBar) {
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_millis(100));
    loop {
        every.tick().await;
        let elapsed = started.elapsed();
        let done = shared.completed.load(Ordering::Relaxed);
        let errors = shared.errors.load(Ordering::Relaxed);
        bar.set_position(elapsed.as_millis() as u64);
        bar.set_message(format!("{done} requests, {:.0}/s, {errors} errors", done as f64 / elapsed.as_secs_f64()));
    }
}
