//! Fan-out: N WebSocket connections subscribe to one resource, then one `tools/call` changes
//! it and every connection must receive `notifications/resources/updated`. Measures the time
//! from the call to each delivery (first, median, p99, last) over several rounds.
//!
//! The connections live in this process and the gateway in its own, so each side holds only
//! its half of the sockets (10,000 connections are 20,000 sockets on one machine).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use indicatif::ProgressBar;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::client::Client;
use crate::target::{Era, Target, Transport};

pub struct FanOut {
    pub ws: http::Uri,
    pub http: http::Uri,
    pub connections: usize,
    pub rounds: usize,
    /// Handshakes and subscriptions in progress at once.
    pub connect_concurrency: usize,
    pub progress: bool,
}

/// One round: delivery times from the call, in milliseconds, sorted.
pub struct Round {
    pub delivered_ms: Vec<f64>,
    pub call_ms: f64,
}

const UPDATED: &str = "notifications/resources/updated";

pub async fn run(f: &FanOut) -> Result<Vec<Round>> {
    let note = format!("fanout-{}", std::process::id());
    let uri = format!("note://{note}");
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let bar = f.progress.then(|| ProgressBar::new(f.connections as u64).with_message("connecting"));
    let opened = futures_util::stream::iter(0..f.connections)
        .map(|_| {
            let (ws, uri, tx) = (f.ws.clone(), uri.clone(), tx.clone());
            async move { subscriber(ws, uri, tx).await }
        })
        .buffer_unordered(f.connect_concurrency)
        .inspect(|_| {
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        })
        .collect::<Vec<Result<()>>>()
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let failed = opened.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = opened.into_iter().find(Result::is_err) {
        bail!("{failed} of {} connections failed to subscribe; the first: {e:#}", f.connections);
    }
    let target = Target {
        transport: Transport::Http,
        name: "trigger".into(),
        url: f.http.clone(),
        pid: None,
        era: Era::Stateless,
    };
    let mut trigger = Client::connect(&target).await?;
    let mut rounds = Vec::new();
    for round in 0..f.rounds {
        let started = Instant::now();
        let reached = trigger.note_write(&note, &format!("round {round}")).await?;
        let call_ms = ms(started.elapsed());
        let mut delivered_ms = Vec::with_capacity(f.connections);
        while delivered_ms.len() < f.connections {
            let at = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .with_context(|| {
                    format!("round {round}: {} of {} delivered after 60 s", delivered_ms.len(), f.connections)
                })?
                .context("subscribers ended")?;
            delivered_ms.push(ms(at.duration_since(started)));
        }
        delivered_ms.sort_by(f64::total_cmp);
        anyhow::ensure!(reached == f.connections, "round {round}: the server reached {reached} of {}", f.connections);
        rounds.push(Round { delivered_ms, call_ms });
    }
    Ok(rounds)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Opens a connection, starts a session, subscribes to `uri`, then (in the background)
/// reports the arrival of every update.
async fn subscriber(ws: http::Uri, uri: String, arrivals: mpsc::UnboundedSender<Instant>) -> Result<()> {
    let mut request = ws.to_string().into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", http::HeaderValue::from_static("mcp"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp-load","version":"1"}}}"#;
    let subscribe = serde_json::json!({"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":uri}});
    socket.send(Message::Text(init.into())).await?;
    await_reply(&mut socket, 1).await?;
    socket.send(Message::Text(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into())).await?;
    socket.send(Message::Text(subscribe.to_string().into())).await?;
    await_reply(&mut socket, 2).await?;
    let uri = Arc::new(uri);
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message
                && text.contains(UPDATED)
                && text.contains(uri.as_str())
                && arrivals.send(Instant::now()).is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

async fn await_reply<S>(socket: &mut S, id: u64) -> Result<()>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let wanted = format!("\"id\":{id}");
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await.context("no reply in 30 s")? {
            Some(Ok(Message::Text(t))) if t.contains(&wanted) => {
                return if t.contains("\"result\"") { Ok(()) } else { bail!("refused: {t}") };
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed before reply {id}"),
        }
    }
}

/// The figures of a run, one row per round.
pub fn table(f: &FanOut, rounds: &[Round]) -> String {
    let mut out = format!(
        "\nfan-out to {} WebSocket connections, {} round(s)\n\n| round | call returned ms | first ms | p50 ms | p99 ms | last (all delivered) ms |\n|---:|---:|---:|---:|---:|---:|\n",
        f.connections,
        rounds.len()
    );
    for (i, r) in rounds.iter().enumerate() {
        let at = |q: f64| r.delivered_ms[((r.delivered_ms.len() - 1) as f64 * q).round() as usize];
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            i + 1,
            r.call_ms,
            at(0.0),
            at(0.5),
            at(0.99),
            at(1.0)
        ));
    }
    let mut last: Vec<f64> = rounds.iter().map(|r| r.delivered_ms.last().copied().unwrap_or(0.0)).collect();
    last.sort_by(f64::total_cmp);
    if let Some(median) = last.get(last.len() / 2) {
        out.push_str(&format!("\nmedian time to deliver to all {}: {median:.1} ms\n", f.connections));
    }
    out
}
