//! Counting the remote calls of one request (DynamoDB, Redis), so that the hot path can be
//! measured: backends record each call; the router runs each message in a counting scope
//! and reports the counts with the reply and in its debug log.

use std::cell::Cell;
use std::future::Future;

use serde::Serialize;

/// Remote calls made while serving one message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RemoteCalls {
    /// DynamoDB calls (one per operation; the SDK's own retries are not counted).
    pub dynamodb: u32,
    /// Redis commands (a script counts as one).
    pub redis: u32,
}

tokio::task_local! {
    static CALLS: Cell<RemoteCalls>;
}

/// Records one DynamoDB call (outside a counting scope: nothing to record).
pub fn dynamodb() {
    let _ = CALLS.try_with(|c| {
        let mut v = c.get();
        v.dynamodb += 1;
        c.set(v);
    });
}

/// Records one Redis call.
pub fn redis() {
    let _ = CALLS.try_with(|c| {
        let mut v = c.get();
        v.redis += 1;
        c.set(v);
    });
}

/// Runs `f`, counting the calls made on this task (work it spawns is not counted).
pub async fn counted<F: Future>(f: F) -> (F::Output, RemoteCalls) {
    CALLS
        .scope(Cell::new(RemoteCalls::default()), async {
            let out = f.await;
            (out, CALLS.with(Cell::get))
        })
        .await
}
