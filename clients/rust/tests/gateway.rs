//! The client against the local gateway (target/debug/mcp-local, or MCP_LOCAL_BIN), which
//! closes connections as API Gateway does (idle, lifetime), here after seconds. The test
//! command runs these once in process and once in the Lambda lane (MCP_LOCAL_EXTRA_ARGS).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use mcp_ws_client::{Client, Era, Error, Event, LIMIT_EXCEEDED, Options, TokenIn};

const IDLE_SECONDS: u64 = 2;
const LIFETIME_SECONDS: u64 = 12;
const WAIT: Duration = Duration::from_secs(15);

struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    async fn start(more: &[&str]) -> Gateway {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let bin = std::env::var("MCP_LOCAL_BIN")
            .unwrap_or_else(|_| root.join("target/debug/mcp-local").display().to_string());
        let extra = std::env::var("MCP_LOCAL_EXTRA_ARGS").unwrap_or_default();
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0", "--instances", "2"])
            .args(extra.split_whitespace())
            .args(more)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting the gateway: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            let mut base = None;
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://") && w.ends_with("/mcp")) {
                    base.get_or_insert_with(|| url.trim_end_matches("/mcp").to_owned());
                }
                if line.contains("access key id") && base.is_some() {
                    break;
                }
            }
            base
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the gateway did not start"));
        // Keep reading what it prints, so that a full pipe never blocks it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Gateway { child, base }
    }

    fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn short_lived_gateway() -> Gateway {
    let (idle, lifetime) = (IDLE_SECONDS.to_string(), LIFETIME_SECONDS.to_string());
    Gateway::start(&["--ws-idle-seconds", &idle, "--ws-lifetime-seconds", &lifetime]).await
}

async fn echo(client: &Client, text: &str) -> Result<String, Error> {
    let result = client.request("tools/call", json!({"name": "echo", "arguments": {"text": text}})).await?;
    Ok(result["content"][0]["text"].as_str().unwrap_or_default().to_owned())
}

fn options(url: String, era: Era) -> Options {
    Options::new(url).era(era).request_timeout(WAIT).reconnects(5, Duration::from_millis(200))
}

/// Waits for the first event that `wanted` picks out, skipping others.
async fn event<T>(client: &Client, what: &str, wanted: impl Fn(&Event) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            match client.next_event().await {
                Some(e) => {
                    if let Some(found) = wanted(&e) {
                        return found;
                    }
                }
                None => panic!("the client's events ended waiting for {what}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn reconnected(e: &Event) -> Option<bool> {
    match e {
        Event::Reconnected { session_restarted, .. } => Some(*session_restarted),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_eras_call_tools() {
    let gateway = short_lived_gateway().await;
    for era in [Era::Session, Era::Stateless] {
        let client = Client::connect(options(gateway.ws_url(), era)).await.unwrap_or_else(|e| panic!("{era:?}: {e}"));
        assert_eq!(client.initialize_result().is_some(), era == Era::Session);
        let tools = client.request("tools/list", json!({})).await.unwrap_or_else(|e| panic!("{era:?}: {e}"));
        assert!(tools["tools"].as_array().is_some_and(|t| t.iter().any(|t| t["name"] == "echo")), "{tools}");
        assert_eq!(echo(&client, "hello").await.ok().as_deref(), Some("hello"), "{era:?}");
        client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_refused_handshakes() {
    let key = std::env::temp_dir().join(format!("mcp-ws-client-{}.pem", std::process::id()));
    let key = key.display().to_string();
    let authed = Gateway::start(&["--auth", "--auth-key", &key]).await;
    let bin = std::env::var("MCP_LOCAL_BIN").unwrap_or_else(|_| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/mcp-local").display().to_string()
    });
    for token_in in [TokenIn::Subprotocol, TokenIn::Header] {
        let minted = Command::new(&bin)
            .args(["mint-token", "--gateway", &authed.base, "--auth-key", &key, "--subject", "rust-client"])
            .output()
            .await
            .unwrap_or_else(|e| panic!("mint-token: {e}"));
        let token = String::from_utf8_lossy(&minted.stdout).trim().to_owned();
        let client = Client::connect(options(authed.ws_url(), Era::Stateless).token(token).token_in(token_in))
            .await
            .unwrap_or_else(|e| panic!("{token_in:?}: {e}"));
        assert_eq!(echo(&client, "authed").await.ok().as_deref(), Some("authed"));
        client.close().await;
    }
    match Client::connect(options(authed.ws_url(), Era::Session)).await {
        Err(Error::Handshake { status: 401, reason }) => assert!(!reason.is_empty(), "the refusal says why"),
        Err(e) => panic!("expected a 401 handshake error, got {e}"),
        Ok(_) => panic!("connected without a token"),
    }
    let gateway = short_lived_gateway().await;
    match Client::connect(options(format!("{}?server=nobody-registered-this", gateway.ws_url()), Era::Session)).await {
        Err(e @ Error::Handshake { status: 404, .. }) => assert!(e.to_string().contains("HTTP 404"), "{e}"),
        Err(e) => panic!("expected a 404 handshake error, got {e}"),
        Ok(_) => panic!("connected to a server nobody registered"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_limit() {
    let gateway = short_lived_gateway().await;
    let client = Client::connect(options(gateway.ws_url(), Era::Stateless)).await.unwrap_or_else(|e| panic!("{e}"));
    let big = "x".repeat(140 * 1024);
    match echo(&client, &big).await {
        Err(Error::Limit { message, .. }) => assert!(message.contains("at most 131072"), "{message}"),
        other => panic!("expected a limit error, got {other:?}"),
    }
    assert_eq!(echo(&client, "after").await.ok().as_deref(), Some("after"));
    client.close().await;

    // Without the client's own check the server refuses the message, which it could not
    // read, so without the request's id: an event, and the connection goes on.
    let unchecked = Client::connect(options(gateway.ws_url(), Era::Stateless).max_message_bytes(usize::MAX))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": big}});
    unchecked.notify("notifications/message", text).await.unwrap_or_else(|e| panic!("{e}"));
    let said = event(&unchecked, "the server's refusal", |e| match e {
        Event::Error(said) if said.contains(&LIMIT_EXCEEDED.to_string()) || said.contains("limit") => {
            Some(said.clone())
        }
        _ => None,
    })
    .await;
    assert!(said.contains("131072 byte limit"), "{said}");
    assert_eq!(echo(&unchecked, "still").await.ok().as_deref(), Some("still"));
    unchecked.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_holds_an_idle_connection_and_without_it_the_client_reconnects() {
    let gateway = short_lived_gateway().await;
    let mut kept = Vec::new();
    for era in [Era::Session, Era::Stateless] {
        let client = Client::connect(options(gateway.ws_url(), era).keepalive(Some(Duration::from_millis(500))))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The 2026-07-28 keepalive reuses the last request's `_meta`.
        assert_eq!(echo(&client, "first").await.ok().as_deref(), Some("first"));
        kept.push(client);
    }
    let dropped = Client::connect(options(gateway.ws_url(), Era::Stateless).keepalive(None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(IDLE_SECONDS * 1000 + 1500)).await;
    assert!(
        !event(&dropped, "the unpinged connection to reconnect", reconnected).await,
        "no new session in 2026-07-28"
    );
    assert_eq!(echo(&dropped, "back").await.ok().as_deref(), Some("back"));
    for client in kept {
        // Nothing happened to a pinged connection: no event waits.
        let quiet = tokio::time::timeout(Duration::from_millis(200), client.next_event()).await;
        assert!(quiet.is_err(), "unexpected event on a kept connection: {quiet:?}");
        assert_eq!(echo(&client, "kept").await.ok().as_deref(), Some("kept"));
        client.close().await;
    }
    dropped.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_lifetime_the_session_era_gets_a_new_session_and_2026_goes_on() {
    let gateway = short_lived_gateway().await;
    // Both eras at once: each waits out the whole lifetime.
    let one = |era: Era, restarted: bool| {
        let url = gateway.ws_url();
        async move {
            let client = Client::connect(options(url, era).keepalive(Some(Duration::from_millis(500))))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(event(&client, "the lifetime's reconnection", reconnected).await, restarted, "{era:?}");
            assert_eq!(echo(&client, "again").await.ok().as_deref(), Some("again"), "{era:?}");
            client.close().await;
        }
    };
    tokio::join!(one(Era::Session, true), one(Era::Stateless, false));
}
