//! The figures of a run: a table for people, JSON for scripts.

use std::fmt::Write;

use crate::run::{Load, Measured};

/// Percentiles reported everywhere.
pub const PERCENTILES: [(f64, &str); 4] = [(50.0, "p50"), (90.0, "p90"), (99.0, "p99"), (99.9, "p99.9")];

pub fn table(results: &[Measured], load: &Load) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{} clients, {:.1} s per target{}\n",
        load.clients,
        load.duration.as_secs_f64(),
        load.requests.map(|r| format!(" (at most {r} requests)")).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "| target | requests/s | vs first | server CPU µs/request | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | requests | errors |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let first = results.first().map(Measured::per_second).unwrap_or(1.0);
    for r in results {
        let cpu = r.cpu_us_per_request().map(|us| format!("{us:.1}")).unwrap_or_else(|| "-".into());
        let mut row =
            format!("| {} | {:.0} | {:.2}x | {cpu} |", r.target.label(), r.per_second(), r.per_second() / first);
        for (p, _) in PERCENTILES {
            let _ = write!(row, " {} |", r.latency.value_at_percentile(p));
        }
        let _ = write!(row, " {} | {} | {} |", r.latency.max(), r.completed, r.errors);
        let _ = writeln!(out, "{row}");
    }
    out
}

pub fn json(results: &[Measured], load: &Load) -> String {
    let targets: Vec<_> = results
        .iter()
        .map(|r| {
            let mut latency = serde_json::Map::new();
            for (p, name) in PERCENTILES {
                latency.insert(name.into(), r.latency.value_at_percentile(p).into());
            }
            latency.insert("max".into(), r.latency.max().into());
            serde_json::json!({
                "target": r.target.name,
                "transport": r.target.label(),
                "url": r.target.url.to_string(),
                "requests_per_second": r.per_second(),
                "completed": r.completed,
                "errors": r.errors,
                "server_cpu_us_per_request": r.cpu_us_per_request(),
                "seconds": r.elapsed.as_secs_f64(),
                "latency_us": latency,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "clients": load.clients,
        "seconds": load.duration.as_secs_f64(),
        "targets": targets,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
