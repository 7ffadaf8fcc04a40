//! The composition root: the one place where the application is built from [`Settings`].
//! A Lambda function builds one [`Shared`] and one [`App`](crate::App) in init; the local gateway builds
//! one `Shared` and N `App`s over it (its instances). Stores, L1, registry, request-state
//! key, authorization, limits and sinks are wired here and nowhere else.

use std::sync::Arc;
use std::time::Duration;

use mcp_server::registry::{RegistryStore, ToolInvoker};
use mcp_server::{RequestStateCodec, StateHandles, TaskLauncher};
use mcp_state_dynamodb::DynamoState;
use mcp_state_dynamodb::registry::DynamoRegistry;

use crate::BoxError;
use crate::lambda_tasks::LambdaTaskLauncher;
use crate::lambda_tools::LambdaInvoker;
use crate::lazy_redis::LazyRedis;
use crate::settings::{Host, KeySource, MIN_KEY_BYTES, Settings};

/// How long a `requestState` stays valid.
const REQUEST_STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// What every instance of one process shares: the stores (without any instance's L1), the
/// registry, the request-state key, and the settings the instances are built from.
pub struct Shared {
    pub(crate) settings: Settings,
    pub(crate) sdk: aws_config::SdkConfig,
    state: StateHandles,
    pub(crate) registry: Option<Registry>,
    pub(crate) request_states: RequestStateCodec,
    /// Where tasks' work runs, when not in this process (the worker function).
    pub(crate) task_launcher: Option<Arc<dyn TaskLauncher>>,
}

/// The registry's store and the invoker of its Lambda-backed tools.
pub(crate) struct Registry {
    pub store: Arc<dyn RegistryStore>,
    pub invoker: Arc<dyn ToolInvoker>,
}

impl Shared {
    /// Builds the stores. Network calls only where the settings ask for them: creating
    /// tables, and reading the request-state key from Secrets Manager; Redis and every other
    /// client connect on first use.
    pub async fn build(settings: Settings, sdk: aws_config::SdkConfig) -> Result<Shared, BoxError> {
        let dynamodb = dynamodb(&settings, &sdk);
        let mut state = StateHandles::in_memory();
        if let Some(redis) = &settings.redis {
            let redis = Arc::new(LazyRedis::new(redis.clone(), &sdk)?);
            state = StateHandles {
                bus: redis.clone(),
                events: redis.clone(),
                versions: redis.clone(),
                rates: redis,
                ..state
            };
        } else if settings.host == Host::Lambda {
            tracing::warn!(
                "no Redis (RedisTier=none): signals do not cross instances, so session-era elicitation, \
                 sampling, roots and cancellation, and HTTP streams are refused; rate limits, in-flight, \
                 stream, session and subscription caps count per instance; L1 is off"
            );
        }
        if let (Some(table), Some(client)) = (&settings.table, &dynamodb) {
            if settings.create_tables {
                mcp_state_dynamodb::schema::ensure_table(client, table).await?;
            }
            let d = Arc::new(DynamoState::new(client.clone(), table.clone()));
            state = StateHandles {
                sessions: d.sessions(),
                connections: d.connections(),
                subscriptions: d.subscriptions(),
                nonces: d.nonces(),
                kv: d.kv(),
                tasks: d.tasks(),
                ..state
            };
        }
        if let Some(plan) = &settings.faults {
            tracing::warn!(?plan, "injecting faults into every state call");
            state = mcp_server::state::faults::Faults::new(plan.clone()).wrap(state);
        }
        let registry = match (&settings.registry_table, &dynamodb) {
            (None, _) => None,
            (Some(_), None) => return Err("a registry table needs DynamoDB".into()),
            (Some(table), Some(client)) => {
                if settings.create_tables {
                    mcp_state_dynamodb::schema::ensure_registry_table(client, table).await?;
                }
                let store: Arc<dyn RegistryStore> = Arc::new(DynamoRegistry::new(client.clone(), table.clone()));
                let invoker: Arc<dyn ToolInvoker> =
                    Arc::new(LambdaInvoker::new(&sdk, settings.lambda_endpoint.clone()));
                Some(Registry { store, invoker })
            }
        };
        let request_states = request_states(&settings.request_state_key, &sdk).await?;
        mcp_server::observe::key_principal_hashes(request_states.derived_key("principal-hash"));
        let task_launcher = match (&settings.task_worker, settings.host) {
            (Some(worker), Host::Lambda) => {
                Some(Arc::new(LambdaTaskLauncher::new(&sdk, worker.clone())) as Arc<dyn TaskLauncher>)
            }
            _ => None,
        };
        Ok(Shared { settings, sdk, state, registry, request_states, task_launcher })
    }

    /// Whether a signal sent on one instance reaches another: Redis carries it, or every
    /// instance is in this process. A Lambda without Redis has neither.
    pub fn signals_shared(&self) -> bool {
        self.settings.redis.is_some() || self.settings.host == Host::LongRunning
    }

    /// The stores every instance shares, without an instance's L1 (for the sweeper).
    pub fn state(&self) -> &StateHandles {
        &self.state
    }

    /// The settings every instance of this process is built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// An instance's own view of the stores: its own L1 in front of the sessions when every
    /// instance can see a session's version move. That takes shared versions: Redis, or one
    /// process holding every instance (the local gateway); a Lambda without Redis has
    /// neither, and its L1 could serve a session another instance changed.
    pub(crate) fn instance_state(&self) -> StateHandles {
        let versions_shared = self.settings.redis.is_some() || self.settings.host == Host::LongRunning;
        if versions_shared { self.state.clone().with_l1() } else { self.state.clone() }
    }
}

/// A DynamoDB client when the settings name a table or a registry: the SDK's configuration
/// (its own `AWS_ENDPOINT_URL*` variables included), at `dynamodb_endpoint` if given, with
/// the deployment's deadlines and retries.
fn dynamodb(settings: &Settings, sdk: &aws_config::SdkConfig) -> Option<aws_sdk_dynamodb::Client> {
    if settings.table.is_none() && settings.registry_table.is_none() {
        return None;
    }
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(endpoint) = &settings.dynamodb_endpoint {
        config = config.endpoint_url(endpoint);
    }
    Some(mcp_state_dynamodb::client::client(config))
}

/// The request-state codec: the key from Secrets Manager (one call, at init), as given, or
/// random for this process.
async fn request_states(source: &KeySource, sdk: &aws_config::SdkConfig) -> Result<RequestStateCodec, BoxError> {
    let ttl_ms = REQUEST_STATE_TTL.as_millis() as u64;
    let key = match source {
        KeySource::Ephemeral => return Ok(RequestStateCodec::ephemeral()),
        KeySource::Value(key) => key.clone(),
        KeySource::Secret(id) => secret(sdk, id).await?,
    };
    Ok(RequestStateCodec::new(key, ttl_ms))
}

/// A secret's string, at least [`MIN_KEY_BYTES`] long.
async fn secret(sdk: &aws_config::SdkConfig, id: &str) -> Result<Vec<u8>, BoxError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let value = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
        format!("MCP_REQUEST_STATE_SECRET: reading {id}: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e))
    })?;
    let key = value.secret_string().ok_or_else(|| format!("MCP_REQUEST_STATE_SECRET: {id} holds no string"))?;
    if key.len() < MIN_KEY_BYTES {
        return Err(format!("MCP_REQUEST_STATE_SECRET: {id} holds fewer than {MIN_KEY_BYTES} bytes").into());
    }
    Ok(key.as_bytes().to_vec())
}
