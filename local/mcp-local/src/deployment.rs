//! A deployment in one process: the application as the functions build it
//! (`mcp_aws::Shared` from the same settings, mapped from the flags), with N instances
//! (`mcp_aws::App`) that share the stores and nothing else, as separate Lambda instances
//! would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_auth::{AuthConfig, TokenValidator};
use mcp_aws::{App, Shared};
use mcp_server::ConnectionSink;

use crate::ServerDef;
use crate::cli::Args;
use crate::connections::LocalConnections;

pub struct Deployment {
    instances: Vec<App>,
    next: AtomicUsize,
    /// With `--auth`: what API Gateway's `$connect` authorizer would run.
    pub authorizer: Option<Arc<TokenValidator>>,
    sink: Arc<dyn ConnectionSink>,
}

impl Deployment {
    /// `base_url`: this gateway's own address, for `--sdk-connections`; `connections`: the
    /// gateway's sockets, which instances post to in process otherwise.
    pub async fn new(
        args: &Args,
        server: &ServerDef,
        auth: Option<&AuthConfig>,
        base_url: Option<&str>,
        connections: Arc<LocalConnections>,
    ) -> anyhow::Result<Self> {
        let settings = args.settings(auth)?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let shared = Shared::build(settings, sdk).await.map_err(anyhow::Error::from_boxed)?;
        let authorizer = auth.map(|config| TokenValidator::from_config(config.clone()).map(Arc::new));
        let authorizer = authorizer.transpose().map_err(anyhow::Error::msg)?;
        let sink: Arc<dyn ConnectionSink> = match (args.sdk_connections, base_url) {
            (true, Some(base)) => sdk_connections(base, connections.access_key()).await,
            _ => connections.clone(),
        };
        let instances = (0..args.instances)
            .map(|_| App::new(&shared, server()?, sink.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::from_boxed)?;
        Ok(Deployment { instances, next: AtomicUsize::new(0), authorizer, sink })
    }

    /// The next instance, round-robin.
    pub fn pick(&self) -> &App {
        self.pick_indexed().1
    }

    /// The next instance and its index.
    pub fn pick_indexed(&self) -> (usize, &App) {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.instances.len();
        (i, &self.instances[i])
    }

    /// The name of the server the instances serve.
    pub fn server_name(&self) -> String {
        self.instances[0].router.server().info().name.clone()
    }

    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Runs the sweeper every `every`, as the deployment's schedule runs the sweeper function
    /// every minute: connections whose token has expired are closed even if they stay silent,
    /// and tasks whose runner stopped fail.
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let router = self.instances[0].router.clone();
        let sink = self.sink.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(why) = mcp_edge::sweeper::sweep(&router, &sink).await {
                    tracing::warn!(%why, "sweeper run failed; the next one retries");
                }
            }
        })
    }
}

/// `@connections` through `aws-sdk-apigatewaymanagement` at this gateway's own endpoint,
/// signed with the gateway's access key (the endpoint checks the key, not the signature).
async fn sdk_connections(base_url: &str, access_key: &str) -> Arc<dyn ConnectionSink> {
    let credentials = aws_credential_types::Credentials::new(access_key, "local", None, None, "mcp-local");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    Arc::new(mcp_aws::sink::ApiGatewaySink::new(sdk, Some(base_url.to_owned())))
}

/// The DynamoDB client the flags ask for (an endpoint override, or AWS itself), with the
/// credentials and region of the usual AWS environment and the deployment's deadlines.
pub async fn dynamodb_client(args: &Args) -> Option<aws_sdk_dynamodb::Client> {
    if args.dynamodb_endpoint.is_none() && !args.dynamodb_aws {
        return None;
    }
    Some(mcp_aws::dynamodb_client(args.dynamodb_endpoint.as_deref()).await)
}
