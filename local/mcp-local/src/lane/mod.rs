//! The Lambda lane (`--functions DIR`): the gateway plays API Gateway and the Lambda
//! service, and the handlers run as the real function binaries, as deployed. The stack is
//! `infra/template.yaml` (or `--template`) with the gateway's flags as parameter values:
//! its functions, their environment and permissions, the WebSocket API's routes and
//! authorizer, the Function URL and the schedules all come from it. Where a deployment has
//! AWS, the lane has the endpoints it is given (DynamoDB and Secrets Manager at
//! `--dynamodb-endpoint`, Redis at `--redis-url`, Lambda-backed tools at `--lambda-endpoint`)
//! and itself (`@connections`).
//!
//! Every AWS call a function makes is checked against what the template grants that
//! function (its role's policies and, in the VPC, the endpoint policies); a call the deployed
//! stack would deny is refused as AWS refuses it, logged, and written to `denied.jsonl` in
//! the lane's output directory, which the test command requires to stay empty.

mod api_gateway;
mod clock;
mod function_url;
mod permissions;
mod provision;
mod redis_front;
mod stack;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use lambda_emulator::{AwsProxy, FunctionConfig, LambdaService, ProxyConfig, ServiceConfig};
use sam_template::Function;

use crate::cli::Args;
use crate::connections::LocalConnections;

pub use api_gateway::StageInfo;

/// What the lane serves: the functions, and which one answers what.
pub struct Lane {
    pub service: Arc<LambdaService>,
    pub connections: Arc<LocalConnections>,
    pub stage: StageInfo,
    /// The `$connect`, `$default` and `$disconnect` route functions, and the authorizer.
    routes: api_gateway::Routes,
    /// The function behind the Function URL, and whether it streams.
    url: Option<(String, bool)>,
    pub out: PathBuf,
    functions: Vec<Function>,
    permissions: permissions::Permissions,
    /// Whether a `$default` response has carried a reply to its client yet.
    replies_returned: std::sync::atomic::AtomicBool,
}

impl Lane {
    /// Reads the template, "deploys" it (tables, secrets, Redis users) and readies the
    /// functions. `base_url` is the gateway's own address; `auth` its development issuer.
    pub async fn start(
        args: &Args,
        dir: &Path,
        base_url: &str,
        auth: Option<&mcp_auth::AuthConfig>,
        connections: Arc<LocalConnections>,
        console: Option<Arc<crate::console::Console>>,
    ) -> anyhow::Result<Lane> {
        let Some(aws_endpoint) = args.dynamodb_endpoint.clone() else {
            bail!("--functions needs --dynamodb-endpoint: the functions' DynamoDB and Secrets Manager");
        };
        if args.faults.is_some() || args.stdio {
            bail!("--functions runs the deployment as deployed: --faults and --stdio are for the in-process gateway");
        }
        let template = args.template()?;
        let text = std::fs::read_to_string(&template)
            .with_context(|| format!("reading the template {}", template.display()))?;
        let out = args
            .lane_out
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("mcp-lane-{}", std::process::id())));
        std::fs::create_dir_all(&out)?;
        let mut settings = stack::settings(args, auth)?;
        let provisioned = provision::deploy(&text, &settings, args, &aws_endpoint).await?;
        settings.refs.extend(provisioned.refs);
        let stack = sam_template::load(&text, settings)?;
        let functions = stack.functions()?;
        let routes = api_gateway::Routes::from_stack(&stack, &functions)?;
        let stage = StageInfo::from_stack(&stack)?;
        let url = functions
            .iter()
            .find_map(|f| f.url_invoke_mode.as_ref().map(|mode| (f.name.clone(), mode == "RESPONSE_STREAM")));
        let permissions = permissions::Permissions::new(&stack, &functions, &out)?;
        let fronts = redis_front::start(args, &stack, &functions, permissions.clone()).await?;
        let permissions_for_proxy = permissions.checker();
        let mut configs = Vec::new();
        for f in &functions {
            let executable = executable(dir, f)?;
            let environment = stack::local_environment(f, args, &fronts);
            configs.push(FunctionConfig {
                name: f.name.clone(),
                arn: f.arn.clone(),
                executable,
                environment,
                timeout: f.timeout,
                memory_mb: f.memory_mb,
                // Reserved concurrency caps a function's environments as Lambda caps them.
                max_environments: f
                    .reserved_concurrency
                    .map_or(args.max_environments, |r| args.max_environments.min(r as usize)),
                async_retries: f.async_retries,
                max_event_age: f.max_event_age,
            });
        }
        let own_functions = Arc::new(lambda_emulator::InvokeApi::default());
        let proxy = AwsProxy::new(ProxyConfig {
            region: stage.region.clone(),
            account: stage.account.clone(),
            api_id: stage.api_id.clone(),
            default_upstream: Some(aws_endpoint),
            connections_upstream: Some(base_url.to_owned()),
            connections_access_key: Some(connections.access_key().to_owned()),
            lambda_upstream: args.lambda_endpoint.clone(),
            own_functions: Some(own_functions.clone()),
            permission: permissions_for_proxy,
        });
        let service = LambdaService::new(
            ServiceConfig {
                region: stage.region.clone(),
                aws: Some(Arc::new(proxy)),
                log_dir: Some(out.join("functions")),
                records: Some(out.join("invocations.jsonl")),
                // The console's message log: what each function reports of what it served.
                on_metrics: console.map(|console| -> lambda_emulator::MetricsHook {
                    Arc::new(move |line| {
                        for row in crate::console::served::rows_of_metrics(line) {
                            console.served(row);
                        }
                    })
                }),
            },
            configs,
        )?;
        let service = Arc::new(service);
        own_functions.attach(&service);
        let replies_returned = Default::default();
        let lane = Lane { service, connections, stage, routes, url, out, functions, permissions, replies_returned };
        lane.spawn_schedules();
        Ok(lane)
    }

    /// What it prints at start: where its output goes, and each function.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "  Lambda lane      {} function(s) as processes; records and logs in {}\n",
            self.functions.len(),
            self.out.display()
        );
        for f in &self.functions {
            s.push_str(&format!(
                "    {:<22} {} (timeout {} s{}{})\n",
                f.logical_id,
                f.binary.as_deref().unwrap_or("?"),
                f.timeout.as_secs(),
                if f.in_vpc { ", in the VPC" } else { "" },
                if f.url_invoke_mode.is_some() { ", Function URL" } else { "" },
            ));
        }
        s
    }

    /// The schedules of the template (the sweeper's), as EventBridge would run them.
    fn spawn_schedules(&self) {
        for f in &self.functions {
            for every in &f.schedules {
                let (service, name, every, region, account) = (
                    self.service.clone(),
                    f.name.clone(),
                    *every,
                    self.stage.region.clone(),
                    self.stage.account.clone(),
                );
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                    loop {
                        tick.tick().await;
                        let event = serde_json::json!({
                            "version": "0", "id": mcp_server::ids::random_id(), "detail-type": "Scheduled Event",
                            "source": "aws.events", "account": account, "region": region,
                            "time": clock::event_time(), "resources": [format!("arn:aws:events:{region}:{account}:rule/{name}")],
                            "detail": {},
                        });
                        if let Err(e) = service.invoke_buffered(&name, event.to_string().into()).await {
                            tracing::warn!(function = %name, error = %e, "scheduled invocation failed");
                        }
                    }
                });
            }
        }
    }

    pub async fn authorize(
        &self,
        headers: &axum::http::HeaderMap,
        query: &std::collections::HashMap<String, Vec<String>>,
        connection_id: &str,
    ) -> Result<std::collections::HashMap<String, serde_json::Value>, api_gateway::Refused> {
        let Some(f) = self.routes.authorizer(&self.functions) else { return Ok(Default::default()) };
        if let Some(refusal) = self.routes.refuse_invoke(f, &self.stage, "authorizer") {
            self.permissions.report_invoke(f, &refusal);
            return Err((axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Internal server error".into()));
        }
        api_gateway::authorize(&self.service, &f.name, &self.stage, headers, query, connection_id).await
    }

    /// Whether API Gateway sends `route`'s integration response to the client (the template
    /// gives the route a route response).
    pub fn has_route_response(&self, route: &str) -> bool {
        self.routes.has_route_response(route)
    }

    /// A `$default` response carried a message's reply to its client. The first one is
    /// recorded (`api-gateway.json`; a run without it posted every reply), so that the
    /// reports pricing this run's messages know its replies were no posts.
    pub fn reply_returned(&self) {
        if !self.replies_returned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            let record = serde_json::json!({ "replies_returned": true }).to_string();
            if let Err(e) = std::fs::write(self.out.join("api-gateway.json"), record) {
                tracing::warn!(error = %e, "cannot record the lane's replies");
            }
        }
    }

    /// A route's event through its function. A `$default` integration that fails gets the
    /// client API Gateway's `Internal server error` message, and one that takes over 29 s
    /// its `Endpoint request timed out` (the function runs on); `$connect` and `$disconnect`
    /// fail with a 500 (a 504 past 29 s).
    pub async fn websocket(
        &self,
        event: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
    ) -> aws_lambda_events::apigw::ApiGatewayProxyResponse {
        let route = event.request_context.route_key.clone().unwrap_or_default();
        let Some(function) = self.routes.function(&route, &self.functions) else {
            return status(403);
        };
        let connection = event.request_context.connection_id.clone().unwrap_or_default();
        let request = event.request_context.request_id.clone().unwrap_or_default();
        let tell_client = |message: &'static str| {
            let (connections, connection, request) = (self.connections.clone(), connection.clone(), request.clone());
            async move {
                let frame = api_gateway::integration_error(message, &connection, &request);
                let _ = mcp_server::ConnectionSink::post(&*connections, &connection, frame.into_bytes()).await;
            }
        };
        let on_timeout = async {
            if route == "$default" {
                tell_client("Endpoint request timed out").await;
            }
        };
        if let Some(refusal) = self.routes.refuse_invoke(function, &self.stage, &route) {
            self.permissions.report_invoke(function, &refusal);
            return status(500);
        }
        match api_gateway::invoke_route(&self.service, &function.name, &event, on_timeout).await {
            api_gateway::Integration::Answered(response) => response,
            api_gateway::Integration::TimedOut => status(504),
            api_gateway::Integration::Failed(e) => {
                tracing::warn!(%route, error = %e, "integration failed");
                if route == "$default" {
                    tell_client("Internal server error").await;
                }
                status(500)
            }
        }
    }

    /// A request to the Function URL.
    pub async fn http(
        &self,
        request: axum::http::Request<axum::body::Bytes>,
    ) -> axum::http::Response<axum::body::Body> {
        match &self.url {
            Some((function, streaming)) => {
                function_url::handle(&self.service, function, *streaming, &self.stage, request).await
            }
            None => {
                let mut r = axum::http::Response::new(axum::body::Body::from("no function has a URL in the template"));
                *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
                r
            }
        }
    }

    pub async fn shutdown(&self) {
        self.service.shutdown().await;
    }
}

fn status(code: i64) -> aws_lambda_events::apigw::ApiGatewayProxyResponse {
    let mut r = aws_lambda_events::apigw::ApiGatewayProxyResponse::default();
    r.status_code = code;
    r
}

/// A function's binary: `DIR/<LogicalId>/bootstrap` (what `sam build` writes), else
/// `DIR/<binary>` (what `cargo build` and `cargo lambda build` write).
fn executable(dir: &Path, f: &Function) -> anyhow::Result<PathBuf> {
    let built = dir.join(&f.logical_id).join("bootstrap");
    if built.is_file() {
        return Ok(built);
    }
    let binary =
        f.binary.as_deref().with_context(|| format!("{}: no Metadata.BuildProperties.Binary", f.logical_id))?;
    let candidates = [dir.join(binary), dir.join(binary).join("bootstrap")];
    candidates.into_iter().find(|p| p.is_file()).with_context(|| {
        format!("{}: no binary {binary} in {} (build the functions first)", f.logical_id, dir.display())
    })
}
