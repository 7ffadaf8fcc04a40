//! The HTTP side of the gateway: `/mcp` and `/mcp/{server}` (Streamable HTTP), `/ws` and
//! `/ws/{server}` (WebSocket upgrade) and
//! `/@connections/{id}` (the management API the Lambda functions post replies through).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::serve::ListenerExt;

use mcp_edge::limits::MAX_MESSAGE_BYTES;
use mcp_edge::origin::OriginPolicy;
use mcp_edge::rate::SourceAddress;
use mcp_server::ConnectionSink;

use mcp_auth::METADATA_PATH;
use mcp_auth::dev_issuer::DevIssuer;

use crate::cli::Args;
use crate::console;
use crate::dev_auth::DevAuth;
use crate::gateway::Gateway;
use crate::websocket;

pub async fn bind(args: &Args) -> anyhow::Result<tokio::net::TcpListener> {
    Ok(tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?)
}

/// `http://host:port` of the listener, as clients reach it.
pub fn base_url(listener: &tokio::net::TcpListener) -> anyhow::Result<String> {
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_loopback() && addr.is_ipv4() { "127.0.0.1".to_owned() } else { addr.ip().to_string() };
    Ok(format!("http://{host}:{}", addr.port()))
}

pub async fn serve(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    auth: Option<DevAuth>,
    args: &Args,
) -> anyhow::Result<()> {
    let mut app = axum::Router::new()
        .route("/mcp", any(mcp))
        .route("/mcp/{server}", any(mcp))
        .route("/ws", get(websocket::upgrade))
        .route("/ws/{server}", get(websocket::upgrade_to))
        .route("/console", get(console::routes::page))
        .route("/console/events", get(console::routes::events))
        .route(
            "/@connections/{id}",
            post(post_to_connection)
                .delete(delete_connection)
                .get(get_connection)
                .layer(from_fn_with_state(gateway.clone(), connections_caller_only)),
        )
        .with_state(gateway.clone());
    if let Some(auth) = &auth {
        let issuer = auth.issuer.clone();
        app = app
            // The resource's metadata comes from the edge, as on AWS.
            .route(METADATA_PATH, get(mcp).with_state(gateway.clone()))
            .route(&format!("{METADATA_PATH}/mcp"), get(mcp).with_state(gateway.clone()))
            .route(&format!("{METADATA_PATH}/mcp/{{server}}"), get(mcp).with_state(gateway.clone()))
            // The development issuer's documents.
            .route("/.well-known/jwks.json", get(jwks).with_state(issuer.clone()))
            .route("/.well-known/oauth-authorization-server", get(issuer_metadata).with_state(issuer));
    }
    let addr = listener.local_addr()?;
    let base = base_url(&listener)?;
    // One line a script can wait for, then the URLs.
    match gateway.deployment() {
        Some(d) => println!("mcp-local listening on {addr} with {} instance(s) serving {}", d.len(), d.server_name()),
        None => println!("mcp-local listening on {addr}: the Lambda lane (the template's functions)"),
    }
    println!("  Streamable HTTP  {base}/mcp");
    println!("  WebSocket        {}/ws  (subprotocol: mcp)", base.replacen("http://", "ws://", 1));
    if args.registry_table.is_some() {
        println!("  Registered servers at {base}/mcp/{{server}} and /ws/{{server}} (or /ws?server=)");
    }
    println!(
        "  @connections     {base}/@connections/{{connectionId}}  (SigV4, access key id {})",
        gateway.connections.access_key()
    );
    if gateway.console.is_some() {
        println!("  Console          {base}/console  (loopback only; --no-console turns it off)");
    }
    if auth.is_some() {
        println!("  OAuth issuer     {base}  (development; a token: mcp-local mint-token --gateway {base})");
    }
    if let Some(lane) = gateway.lane() {
        print!("{}", lane.describe());
    }
    // TCP_NODELAY on every accepted socket: Nagle plus delayed ACK costs ~40 ms a reply.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // In the lane the template's schedule runs the sweeper function.
    let sweeper = gateway.deployment().map(|d| d.spawn_sweeper(SWEEP_EVERY));
    // Each request knows its peer: anonymous callers are limited per source address.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    if let Some(s) = sweeper {
        s.abort();
    }
    gateway.shutdown().await;
    Ok(())
}

/// How often lapsed connections are closed (a deployment does it every minute; locally it is
/// often enough that a test sees a short-lived token's connection closed within seconds).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Ctrl-C or SIGTERM (what test harnesses send): stop serving, then stop the lane's
/// processes.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

async fn mcp(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // What a Function URL event says in `requestContext.http.sourceIp`.
    parts.extensions.insert(SourceAddress(peer.ip().to_string()));
    // One byte over the limit is enough to know it is too large; the edge answers 413.
    let bytes = match axum::body::to_bytes(body, MAX_MESSAGE_BYTES + 1).await {
        Ok(b) => b,
        Err(_) => Bytes::from(vec![b' '; MAX_MESSAGE_BYTES + 1]),
    };
    gateway.http(axum::http::Request::from_parts(parts, bytes)).await
}

/// `@connections` is for the gateway's own instances, as on AWS it is for callers whose IAM
/// policy allows `execute-api:ManageConnections`: a request signed with the gateway's access
/// key (any other local process is refused, `403` as API Gateway refuses an unsigned call),
/// with a loopback Host and, if any, a loopback Origin (the `--allowed-origins` of `/mcp`
/// do not apply here).
async fn connections_caller_only(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    if let Err(why) = OriginPolicy::loopback().check(request.headers()) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let authorization = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !gateway.connections.admits(authorization) {
        return (
            StatusCode::FORBIDDEN,
            [("x-amzn-errortype", "ForbiddenException"), ("content-type", "application/json")],
            r#"{"message":"Forbidden: sign @connections calls with the gateway's access key"}"#,
        )
            .into_response();
    }
    next.run(request).await
}

async fn post_to_connection(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>, body: Bytes) -> Response {
    match gateway.connections.post(&id, body.to_vec()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(_) => gone(),
    }
}

async fn delete_connection(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    if gateway.connections.close(&id).await { StatusCode::NO_CONTENT.into_response() } else { gone() }
}

async fn get_connection(State(gateway): State<Arc<Gateway>>, Path(id): Path<String>) -> Response {
    if gateway.connections.is_open(&id) { StatusCode::OK.into_response() } else { gone() }
}

/// `410 Gone` as API Gateway sends it, so that the AWS SDK reports a `GoneException`.
fn gone() -> Response {
    (
        StatusCode::GONE,
        [("x-amzn-errortype", "GoneException"), ("content-type", "application/json")],
        r#"{"message":null}"#,
    )
        .into_response()
}

async fn jwks(State(issuer): State<Arc<DevIssuer>>) -> Response {
    ([("content-type", "application/json")], issuer.jwks()).into_response()
}

async fn issuer_metadata(State(issuer): State<Arc<DevIssuer>>) -> Response {
    ([("content-type", "application/json")], issuer.metadata()).into_response()
}
