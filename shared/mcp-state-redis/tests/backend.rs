//! The shared state-backend suite against a real Redis (redis-server in the test command):
//! `MCP_TEST_REDIS_URL=redis://127.0.0.1:PORT`. Ignored by plain `cargo test`; `tests/run`
//! starts redis-server and runs it.

#![allow(clippy::unwrap_used)]

use mcp_server::StateHandles;
use mcp_state_redis::RedisState;

#[tokio::test]
#[ignore = "needs a Redis server: run through tests/run"]
async fn redis_backend_passes_the_suite() {
    let url = std::env::var("MCP_TEST_REDIS_URL").expect("MCP_TEST_REDIS_URL (tests/run sets it)");
    let redis = RedisState::connect(&url).await.unwrap();
    // Sessions and the other durable stores are DynamoDB's; memory stands in for them here.
    let state = StateHandles {
        bus: redis.bus(),
        events: redis.events(),
        versions: redis.versions(),
        rates: redis.rates(),
        ..StateHandles::in_memory()
    };
    mcp_server::state::testkit::run_all(&state).await;
}
