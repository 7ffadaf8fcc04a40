//! Cold start: the time from exec of a function binary to its first handled event, with the
//! real SDK clients built in init, as Lambda runs it. This process plays the Lambda Runtime
//! API (`/2018-06-01/runtime/invocation/next` hands out one event, `.../response` ends the
//! clock) and the `@connections` endpoint; DynamoDB is whatever endpoint is given (moto's
//! server in the benchmark script). Each binary runs several times; the median is reported.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub struct ColdStart {
    /// Where the function binaries are (`target/release`).
    pub dir: PathBuf,
    pub dynamodb_endpoint: String,
    pub table: String,
    pub runs: usize,
    /// Where to keep each function's output (its JSON logs and EMF lines) of its last start.
    pub logs: Option<PathBuf>,
}

/// One function binary and the event it is handed first.
struct Case {
    binary: &'static str,
    event: &'static str,
    /// A WebSocket message's body instead of the fixture's.
    body: Option<&'static str>,
    /// Whether an error reply counts as handled (the authorizer refuses a token-less
    /// handshake by failing the invocation, as API Gateway expects).
    error_is_handled: bool,
}

const CASES: [Case; 7] = [
    Case {
        binary: "ws-connect",
        event: include_str!("../../../shared/mcp-edge/tests/fixtures/connect.json"),
        body: None,
        error_is_handled: false,
    },
    // The hot path: a 2026-07-28 tools/call, which needs no stored state.
    Case {
        binary: "ws-message",
        event: include_str!("../../../shared/mcp-edge/tests/fixtures/message.json"),
        body: Some(ECHO_CALL),
        error_is_handled: false,
    },
    Case {
        binary: "ws-disconnect",
        event: include_str!("../../../shared/mcp-edge/tests/fixtures/disconnect.json"),
        body: None,
        error_is_handled: false,
    },
    Case {
        binary: "http-function",
        event: include_str!("../../../shared/mcp-aws/tests/fixtures/function-url-tools-list.json"),
        body: None,
        error_is_handled: false,
    },
    Case {
        binary: "ws-authorizer",
        event: include_str!("../../../shared/mcp-aws/tests/fixtures/authorizer-connect.json"),
        body: None,
        error_is_handled: true,
    },
    Case { binary: "ws-sweeper", event: "{}", body: None, error_is_handled: false },
    // A run of a task that is not in the table: the worker reads it once and has nothing to do.
    Case { binary: "task-worker", event: r#"{"taskId":"cold-start","run":"r"}"#, body: None, error_is_handled: false },
];

const ECHO_CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;

impl Case {
    fn event(&self) -> Result<String> {
        let Some(body) = self.body else { return Ok(self.event.to_owned()) };
        let mut event: serde_json::Value = serde_json::from_str(self.event)?;
        event["body"] = body.into();
        Ok(event.to_string())
    }
}

/// A function's figures.
pub struct Measured {
    pub binary: &'static str,
    /// Exec to first response, milliseconds, sorted.
    pub first_event_ms: Vec<f64>,
    /// Exec to the first poll for an event (init done), milliseconds, sorted.
    pub init_ms: Vec<f64>,
    pub size_bytes: u64,
}

/// What the runtime API saw of an invocation.
enum Outcome {
    Response,
    Error(String),
}

struct RuntimeApi {
    event: Mutex<Option<String>>,
    /// When the process first asked for an event.
    polled: Mutex<Option<Instant>>,
    outcomes: mpsc::UnboundedSender<(Instant, Outcome)>,
}

pub async fn run(c: &ColdStart) -> Result<Vec<Measured>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (tx, mut outcomes) = mpsc::unbounded_channel();
    let api = Arc::new(RuntimeApi { event: Mutex::new(None), polled: Mutex::new(None), outcomes: tx });
    let server = tokio::spawn(serve(listener, api.clone()));
    let mut results = Vec::new();
    for case in &CASES {
        let path = c.dir.join(case.binary);
        let size_bytes =
            std::fs::metadata(&path).with_context(|| format!("{}: build the functions first", path.display()))?.len();
        let (mut first_event_ms, mut init_ms) = (Vec::new(), Vec::new());
        for _ in 0..c.runs {
            *api.event.lock().unwrap_or_else(|e| e.into_inner()) = Some(case.event()?);
            *api.polled.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let started = Instant::now();
            let mut child = tokio::process::Command::new(&path)
                .env_clear()
                .envs(environment(c, &address.to_string(), case.binary))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .with_context(|| path.display().to_string())?;
            let outcome = tokio::time::timeout(Duration::from_secs(30), outcomes.recv()).await;
            let _ = child.kill().await;
            let (stdout, stderr) = match child.wait_with_output().await {
                Ok(out) => (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned()),
                Err(_) => (Vec::new(), String::new()),
            };
            if let Some(dir) = &c.logs {
                std::fs::write(
                    dir.join(format!("{}.log", case.binary)),
                    [stdout.as_slice(), stderr.as_bytes()].concat(),
                )?;
            }
            match outcome {
                Ok(Some((at, Outcome::Response))) => {
                    first_event_ms.push(at.duration_since(started).as_secs_f64() * 1000.0)
                }
                Ok(Some((at, Outcome::Error(_)))) if case.error_is_handled => {
                    first_event_ms.push(at.duration_since(started).as_secs_f64() * 1000.0);
                }
                Ok(Some((_, Outcome::Error(body)))) => {
                    bail!("{}: the invocation failed: {body}\n{stderr}", case.binary)
                }
                _ => bail!("{}: no response in 30 s\n{stderr}", case.binary),
            }
            if let Some(at) = *api.polled.lock().unwrap_or_else(|e| e.into_inner()) {
                init_ms.push(at.duration_since(started).as_secs_f64() * 1000.0);
            }
        }
        first_event_ms.sort_by(f64::total_cmp);
        init_ms.sort_by(f64::total_cmp);
        results.push(Measured { binary: case.binary, first_event_ms, init_ms, size_bytes });
    }
    server.abort();
    Ok(results)
}

/// What Lambda sets, plus the deployment's configuration (`infra/template.yaml`), with
/// DynamoDB and `@connections` on loopback.
fn environment(c: &ColdStart, runtime_api: &str, binary: &str) -> Vec<(String, String)> {
    let local = format!("http://{runtime_api}");
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", binary),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "cold"),
        ("AWS_SECRET_ACCESS_KEY", "start"),
        ("AWS_ENDPOINT_URL_DYNAMODB", c.dynamodb_endpoint.as_str()),
        ("MCP_TABLE", c.table.as_str()),
        ("MCP_REQUEST_STATE_KEY", "cold-start-benchmark-key-0123456789abcdef"),
        ("MCP_CONNECTIONS_ENDPOINT", local.as_str()),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    // Authorization on for the authorizer only: the other functions' first events carry no
    // token, and a refusal at the edge is not the path being timed.
    .chain(
        (binary == "ws-authorizer")
            .then_some([
                ("MCP_AUTH_ISSUER", "https://issuer.example"),
                ("MCP_AUTH_AUDIENCE", "https://mcp.example/mcp"),
            ])
            .into_iter()
            .flatten(),
    )
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn serve(listener: TcpListener, api: Arc<RuntimeApi>) {
    while let Ok((stream, _)) = listener.accept().await {
        let api = api.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(route(&api, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn route(api: &RuntimeApi, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let arrived = Instant::now();
    let path = request.uri().path().to_owned();
    let reply = |status: u16, body: String| {
        let mut response = http::Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        response
    };
    if path == "/2018-06-01/runtime/invocation/next" {
        api.polled.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(arrived);
        let event = api.event.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(event) = event else {
            // One event per process: later polls wait until the process is stopped.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return reply(500, String::new());
        };
        let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
            + Duration::from_secs(30);
        let mut response = reply(200, event);
        let headers = response.headers_mut();
        for (name, value) in [
            ("lambda-runtime-aws-request-id", "cold-start-1".to_owned()),
            ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
            ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:cold".to_owned()),
            ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000".to_owned()),
        ] {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        return response;
    }
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if path.starts_with("/2018-06-01/runtime/invocation/") && path.ends_with("/response") {
        let _ = api.outcomes.send((arrived, Outcome::Response));
        return reply(202, String::new());
    }
    if path.starts_with("/2018-06-01/runtime/") && path.ends_with("/error") {
        let _ = api.outcomes.send((arrived, Outcome::Error(String::from_utf8_lossy(&body).into_owned())));
        return reply(202, String::new());
    }
    // `@connections`: the reply of ws-message, and anything else the functions post.
    reply(200, String::new())
}

pub fn table(results: &[Measured], runs: usize) -> String {
    let mut out = format!(
        "\ncold start: exec to first handled event, {runs} run(s) each (init: exec to the first poll for an event)\n\n| function | median ms | min ms | max ms | init median ms | binary MB |\n|---|---:|---:|---:|---:|---:|\n"
    );
    for r in results {
        let v = &r.first_event_ms;
        let init = r.init_ms.get(r.init_ms.len() / 2).copied().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {init:.1} | {:.1} |\n",
            r.binary,
            v[v.len() / 2],
            v[0],
            v[v.len() - 1],
            r.size_bytes as f64 / 1_000_000.0
        ));
    }
    out
}
