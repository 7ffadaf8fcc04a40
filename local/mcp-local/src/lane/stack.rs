//! The gateway's flags as the stack's parameter values and names, and a function's
//! environment with AWS's endpoints replaced by the local ones.

use std::collections::BTreeMap;

use sam_template::{Function, StackSettings};

use crate::cli::Args;

/// The stack's settings: the template's parameters from the flags (then `--parameter`),
/// the tables' names from `--table` and `--registry-table`, the cache's endpoint from
/// `--redis-url`.
pub fn settings(args: &Args, auth: Option<&mcp_auth::AuthConfig>) -> anyhow::Result<StackSettings> {
    let mut s = StackSettings::new(&args.stack_name);
    s.region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let p = &mut s.parameters;
    p.insert("RedisTier".into(), if args.redis_url.is_some() { "serverless" } else { "none" }.into());
    if let Some(auth) = auth {
        p.insert("AuthIssuer".into(), auth.issuer.clone());
        p.insert("AuthAudience".into(), auth.audience.clone());
        p.insert("AuthJwksUrl".into(), auth.jwks_url.clone());
        p.insert("AuthScopes".into(), auth.required_scopes.join(" "));
    }
    if let Some(n) = args.rate_limit {
        p.insert("RateLimitPerMinute".into(), n.to_string());
    }
    if let Some(n) = args.anonymous_rate_limit {
        p.insert("AnonymousRateLimitPerMinute".into(), n.to_string());
    }
    if auth.is_none() {
        // A gateway started without --auth serves anyone: the template asks for that in so
        // many words.
        p.insert("AllowAnonymous".into(), "true".into());
    }
    for (parameter, value) in [
        ("HttpStreamSeconds", args.http_stream_seconds),
        ("HttpStreamsPerCaller", args.http_streams_per_caller),
        ("HttpStreams", args.http_streams),
        ("SessionsPerPrincipal", args.sessions_per_principal),
        ("TaskLeaseSeconds", args.task_lease_seconds),
    ] {
        if let Some(n) = value {
            p.insert(parameter.into(), n.to_string());
        }
    }
    if let Some(n) = args.max_in_flight {
        p.insert("MaxInFlight".into(), n.to_string());
    }
    if let Some(replies) = args.ws_replies {
        p.insert("WebSocketReplies".into(), replies.to_string());
    }
    if !args.allowed_origins.is_empty() {
        p.insert("AllowedOrigins".into(), args.allowed_origins.join(","));
    }
    // The lane's Function URL is reached at loopback names, as a deployed one at its own.
    let loopback = mcp_edge::origin::OriginPolicy::loopback().allowed_hosts;
    p.insert("AllowedHosts".into(), loopback.join(","));
    for given in &args.parameters {
        let (k, v) = given.split_once('=').ok_or_else(|| anyhow::anyhow!("--parameter {given}: expected KEY=VALUE"))?;
        p.insert(k.to_owned(), v.to_owned());
    }
    s.names.insert("Table".into(), args.table.clone());
    if let Some(registry) = &args.registry_table {
        s.names.insert("RegistryTable".into(), registry.clone());
    }
    if let Some(url) = &args.redis_url {
        let (host, port) = host_port(url);
        s.attributes.insert("Cache.Endpoint.Address".into(), host);
        s.attributes.insert("Cache.Endpoint.Port".into(), port);
    }
    Ok(s)
}

/// `redis://host:port/...` -> (`host`, `port`).
pub fn host_port(url: &str) -> (String, String) {
    let authority = url.split("://").nth(1).unwrap_or(url).split('/').next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => (authority.to_owned(), "6379".to_owned()),
    }
}

/// A function's environment with the deployment's endpoints made local: the `@connections`
/// URL of the API becomes the environment's own AWS endpoint (where the call is checked and
/// recorded), and the cache's URL the function's Redis front (where its connection is).
pub fn local_environment(f: &Function, args: &Args, redis_fronts: &BTreeMap<String, u16>) -> BTreeMap<String, String> {
    f.environment
        .iter()
        .map(|(k, v)| {
            let local = if v.starts_with("https://") && v.contains(".execute-api.") {
                // `https://{api}.execute-api.{region}.amazonaws.com/{stage}`
                let stage = v.trim_start_matches("https://").split_once('/').map_or("", |(_, s)| s);
                format!("{}/{stage}", lambda_emulator::AWS_ENDPOINT)
            } else if is_redis_url(v)
                && let (Some(local), Some(port)) = (&args.redis_url, redis_fronts.get(&f.name))
            {
                let scheme = local.split("://").next().unwrap_or("redis");
                format!("{scheme}://127.0.0.1:{port}")
            } else {
                v.clone()
            };
            (k.clone(), local)
        })
        .collect()
}

fn is_redis_url(v: &str) -> bool {
    ["redis://", "rediss://", "redis-cluster://", "rediss-cluster://"].iter().any(|s| v.starts_with(s))
}
