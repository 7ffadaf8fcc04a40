//! The conformance suite every state backend must pass. A backend's tests call
//! [`run_all`] with its handles (memory here; DynamoDB and Redis where they live).
//!
//! Ids are made unique per run so that the suite can run against a shared, persistent
//! backend without cleaning it first.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;

use mcp_protocol::jsonrpc::RequestId;
use mcp_protocol::model::{ClientCapabilities, Implementation, LoggingLevel};

use super::{ConnectionRecord, DeliveryTarget, SessionRecord, StateHandles, Subscriber, now_ms};
use crate::ids::random_id;

/// Runs every check against one set of handles.
pub async fn run_all(state: &StateHandles) {
    sessions_create_get_update_delete(state).await;
    sessions_expired_are_invisible(state).await;
    connections_roundtrip(state).await;
    subscriptions_by_topic(state).await;
    nonces_are_single_use(state).await;
    bus_delivers_to_every_subscriber(state).await;
    event_log_replays_after_id(state).await;
    kv_roundtrip_and_prefix_listing(state).await;
    versions_change_on_every_bump(state).await;
    l1_never_serves_a_stale_session(state).await;
    rate_windows_count_and_reset(state).await;
    tasks_are_read_back_and_replaced_only_over_what_was_read(state).await;
}

/// A task is found once created (and not created twice); a replace wins only over the
/// version it read, so of two writers that read the same version one loses and reads again.
pub async fn tasks_are_read_back_and_replaced_only_over_what_was_read(state: &StateHandles) {
    use mcp_protocol::model::TaskStatus;
    let now = now_ms();
    let task = super::TaskRecord {
        id: random_id(),
        server: "suite".into(),
        principal: Some("alice".into()),
        tool: "slow".into(),
        arguments: serde_json::json!({ "seconds": 1 }),
        capabilities: serde_json::json!({}),
        status: TaskStatus::Working,
        status_message: None,
        created_at_ms: now,
        updated_at_ms: now,
        ttl_ms: 60_000,
        input_requests: Default::default(),
        answers: Default::default(),
        result: None,
        error: None,
        version: 0,
        lease: None,
    };
    state.tasks.create(&task).await.unwrap();
    assert_eq!(state.tasks.create(&task).await, Err(super::StateError::Conflict), "an id is taken once");
    assert_eq!(state.tasks.get(&task.id).await.unwrap().as_ref(), Some(&task), "read back at once");
    let cancelled = super::TaskRecord { status: TaskStatus::Cancelled, version: 1, ..task.clone() };
    let completed = super::TaskRecord {
        status: TaskStatus::Completed,
        result: Some(serde_json::json!({})),
        version: 1,
        ..task.clone()
    };
    assert!(state.tasks.replace(&cancelled).await.unwrap(), "the first writer of version 0 wins");
    assert!(!state.tasks.replace(&completed).await.unwrap(), "the second, which read version 0 too, loses");
    let stored = state.tasks.get(&task.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (TaskStatus::Cancelled, 1));
    assert!(state.tasks.get(&random_id()).await.unwrap().is_none());
    let expired = super::TaskRecord { id: random_id(), created_at_ms: now - 120_000, ..task };
    state.tasks.create(&expired).await.unwrap();
    assert!(state.tasks.get(&expired.id).await.unwrap().is_none(), "a task past its lifetime is gone");

    // Leases: a task whose runner lapsed is found by the minute it lapsed in; one renewed
    // since is found where its new lease will lapse, and one without a lease nowhere.
    let lease = |until_ms| Some(super::TaskLease { run: random_id(), claimed_by: Some(random_id()), until_ms });
    let lapsed = super::TaskRecord { id: random_id(), lease: lease(now - 1_000), ..cancelled.clone() };
    let running = super::TaskRecord { id: random_id(), lease: lease(now + 90_000), ..cancelled.clone() };
    let idle = super::TaskRecord { id: random_id(), ..cancelled.clone() };
    for t in [&lapsed, &running, &idle] {
        state.tasks.create(t).await.unwrap();
    }
    let stalled = state.tasks.stalled(now - 5 * 60_000, now).await.unwrap();
    assert!(stalled.contains(&lapsed.id), "{stalled:?}");
    assert!(!stalled.contains(&running.id) && !stalled.contains(&idle.id), "{stalled:?}");
    let renewed = super::TaskRecord { lease: lease(now + 60_000), version: lapsed.version + 1, ..lapsed.clone() };
    assert!(state.tasks.replace(&renewed).await.unwrap());
    assert!(!state.tasks.stalled(now - 5 * 60_000, now).await.unwrap().contains(&lapsed.id), "renewed");
    assert!(state.tasks.stalled(now, now + 120_000).await.unwrap().contains(&lapsed.id), "lapses later");
}

async fn rate_windows_count_and_reset(state: &StateHandles) {
    let key = format!("suite-{}", crate::ids::random_id());
    let (first, left) = state.rates.hit(&key, 300).await.unwrap();
    assert_eq!(first, 1);
    assert!(left > 0 && left <= 300, "{left} ms left");
    assert_eq!(state.rates.hit(&key, 300).await.unwrap().0, 2);
    assert_eq!(state.rates.hit(&format!("{key}-other"), 300).await.unwrap().0, 1, "keys count apart");
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(state.rates.hit(&key, 300).await.unwrap().0, 1, "a new window starts from zero");

    let slots = format!("suite-slots-{}", crate::ids::random_id());
    let (a, b, c) = ("holder-a", "holder-b", "holder-c");
    assert!(state.rates.acquire(&slots, a, 2, 60_000).await.unwrap());
    assert!(state.rates.acquire(&slots, b, 2, 60_000).await.unwrap());
    assert!(!state.rates.acquire(&slots, c, 2, 60_000).await.unwrap(), "two of two taken");
    assert!(state.rates.acquire(&slots, a, 2, 60_000).await.unwrap(), "a holder taking its own slot again keeps it");
    state.rates.release(&slots, a).await.unwrap();
    assert!(state.rates.acquire(&slots, c, 2, 60_000).await.unwrap(), "a released slot is free again");

    // A short slot taken last does not take the long ones with it when it lapses.
    let mixed = format!("suite-mixed-{}", crate::ids::random_id());
    assert!(state.rates.acquire(&mixed, "long", 2, 60_000).await.unwrap());
    assert!(state.rates.acquire(&mixed, "short", 2, 200).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert!(state.rates.acquire(&mixed, "new", 2, 60_000).await.unwrap(), "the short slot lapsed");
    assert!(!state.rates.acquire(&mixed, "newer", 2, 60_000).await.unwrap(), "the long slot is still held");

    // A holder that dies keeps its slot only until its own lapse, however busy the key stays.
    let lapsing = format!("{slots}-lapsing");
    assert!(state.rates.acquire(&lapsing, "dead", 2, 300).await.unwrap());
    for round in 0..8 {
        let live = format!("live-{round}");
        assert!(state.rates.acquire(&lapsing, &live, 2, 300).await.unwrap(), "one slot stays free");
        state.rates.release(&lapsing, &live).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(state.rates.acquire(&lapsing, "new-1", 2, 300).await.unwrap());
    assert!(state.rates.acquire(&lapsing, "new-2", 2, 300).await.unwrap(), "the dead holder's slot lapsed");
    assert!(!state.rates.acquire(&lapsing, "new-3", 2, 300).await.unwrap());
}

fn session(id: &str, expires_at_ms: u64) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        protocol_version: "2025-11-25".into(),
        client_capabilities: ClientCapabilities::default(),
        client_info: Implementation { name: "suite".into(), version: "1".into(), ..Default::default() },
        log_level: None,
        initialized: false,
        principal: Some("alice".into()),
        server: Some("suite".into()),
        delivery: DeliveryTarget::Channel(format!("session:{id}")),
        created_at_ms: now_ms(),
        expires_at_ms,
    }
}

/// Sessions are created once, read back, updated and deleted.
pub async fn sessions_create_get_update_delete(state: &StateHandles) {
    let id = random_id();
    let s = session(&id, now_ms() + 60_000);
    state.sessions.create(&s).await.unwrap();
    assert!(state.sessions.create(&s).await.is_err(), "create must be conditional");
    assert_eq!(state.sessions.get(&id).await.unwrap().as_deref(), Some(&s));
    assert!(state.sessions.set_log_level(&id, LoggingLevel::Warning).await.unwrap());
    assert!(state.sessions.mark_initialized(&id).await.unwrap());
    let got = state.sessions.get(&id).await.unwrap().unwrap();
    assert_eq!(got.log_level, Some(LoggingLevel::Warning));
    assert!(got.initialized);
    let deleted = state.sessions.delete(&id).await.unwrap();
    assert_eq!(deleted.map(|s| s.id), Some(id.clone()), "the deleted session is returned");
    assert!(state.sessions.delete(&id).await.unwrap().is_none());
    assert_eq!(state.sessions.get(&id).await.unwrap(), None);
    assert!(!state.sessions.set_log_level(&id, LoggingLevel::Info).await.unwrap());
}

/// A session past its expiry reads as absent, whether or not the backend removed it yet.
pub async fn sessions_expired_are_invisible(state: &StateHandles) {
    let id = random_id();
    state.sessions.create(&session(&id, now_ms().saturating_sub(1))).await.unwrap();
    assert_eq!(state.sessions.get(&id).await.unwrap(), None, "expired items are filtered on read");
    assert!(!state.sessions.mark_initialized(&id).await.unwrap());
    // An expired id may be reused.
    state.sessions.create(&session(&id, now_ms() + 60_000)).await.unwrap();
    assert!(state.sessions.get(&id).await.unwrap().is_some());
}

/// Connection records are written, read back and removed.
pub async fn connections_roundtrip(state: &StateHandles) {
    let c = ConnectionRecord {
        id: random_id(),
        principal: Some("bob".into()),
        server: "reference".into(),
        created_at_ms: now_ms(),
        expires_at_ms: now_ms() + 60_000,
    };
    state.connections.put(&c).await.unwrap();
    assert_eq!(state.connections.get(&c.id).await.unwrap().as_ref(), Some(&c));
    assert!(state.connections.delete(&c.id).await.unwrap());
    assert_eq!(state.connections.get(&c.id).await.unwrap(), None);
    let old = ConnectionRecord { id: random_id(), expires_at_ms: 1, ..c };
    state.connections.put(&old).await.unwrap();
    assert_eq!(state.connections.get(&old.id).await.unwrap(), None);

    // The sweeper's view: what lapsed in a window, across minute boundaries, until forgotten.
    let now = now_ms();
    let lapsed = ConnectionRecord { id: random_id(), expires_at_ms: now - 90_000, ..old.clone() };
    let live = ConnectionRecord { id: random_id(), expires_at_ms: now + 60_000, ..old.clone() };
    state.connections.put(&lapsed).await.unwrap();
    state.connections.put(&live).await.unwrap();
    let found = state.connections.lapsed(now - 5 * 60_000, now).await.unwrap();
    assert!(found.contains(&lapsed.id), "{found:?}");
    assert!(!found.contains(&live.id) && !found.contains(&old.id), "only the window's: {found:?}");
    assert!(!state.connections.lapsed(now - 60_000, now).await.unwrap().contains(&lapsed.id), "before the window");
    assert!(state.connections.delete(&lapsed.id).await.unwrap());
    assert!(!state.connections.lapsed(now - 5 * 60_000, now).await.unwrap().contains(&lapsed.id), "forgotten");
    state.connections.delete(&live.id).await.unwrap();
}

/// Subscribers are found by topic (a resubscribe replaces, expired rows are left out), counted,
/// unsubscribed once, and removed with all their rows.
pub async fn subscriptions_by_topic(state: &StateHandles) {
    let topic = format!("resource:test://{}", random_id());
    let other = format!("resource:test://{}", random_id());
    let sub = |id: &str, expires_at_ms| Subscriber {
        id: id.to_owned(),
        target: DeliveryTarget::Connection(id.to_owned()),
        subscription_id: Some(RequestId::Number(7)),
        principal: None,
        expires_at_ms,
    };
    let (a, b, gone) = (random_id(), random_id(), random_id());
    let later = now_ms() + 60_000;
    state.subscriptions.subscribe(&topic, &sub(&a, later)).await.unwrap();
    state.subscriptions.subscribe(&topic, &sub(&a, later)).await.unwrap();
    state.subscriptions.subscribe(&topic, &sub(&b, later)).await.unwrap();
    state.subscriptions.subscribe(&other, &sub(&a, later)).await.unwrap();
    state.subscriptions.subscribe(&topic, &sub(&gone, 1)).await.unwrap();
    let mut ids: Vec<_> = state.subscriptions.subscribers(&topic).await.unwrap().into_iter().map(|s| s.id).collect();
    ids.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(ids, want, "resubscribing replaces; expired rows are filtered");
    assert_eq!(state.subscriptions.count_for(&a).await.unwrap(), 2);
    assert!(state.subscriptions.unsubscribe(&topic, &b).await.unwrap());
    assert!(!state.subscriptions.unsubscribe(&topic, &b).await.unwrap());
    assert_eq!(state.subscriptions.remove_subscriber(&a).await.unwrap(), 2);
    assert!(state.subscriptions.subscribers(&other).await.unwrap().is_empty());
    assert!(state.subscriptions.subscribers(&topic).await.unwrap().is_empty());
}

/// A `requestState` nonce is accepted once and refused after.
pub async fn nonces_are_single_use(state: &StateHandles) {
    let n = random_id();
    let exp = now_ms() + 60_000;
    assert!(state.nonces.consume(&n, exp).await.unwrap());
    assert!(!state.nonces.consume(&n, exp).await.unwrap());
    // Concurrent consumers: exactly one wins.
    let n2 = random_id();
    let results = futures_util::future::join_all((0..8).map(|_| state.nonces.consume(&n2, exp))).await;
    assert_eq!(results.into_iter().filter(|r| matches!(r, Ok(true))).count(), 1);
}

/// A message published on a channel reaches every subscriber of it.
pub async fn bus_delivers_to_every_subscriber(state: &StateHandles) {
    let channel = format!("test:{}", random_id());
    assert_eq!(state.bus.publish(&channel, b"nobody".to_vec()).await.unwrap(), 0);
    let mut s1 = state.bus.subscribe(&channel).await.unwrap();
    let mut s2 = state.bus.subscribe(&channel).await.unwrap();
    assert!(state.bus.publish(&channel, b"hello".to_vec()).await.unwrap() >= 1, "someone listens");
    assert_eq!(next(&mut s1).await, b"hello");
    assert_eq!(next(&mut s2).await, b"hello");
    drop(s2);
    state.bus.publish(&channel, b"again".to_vec()).await.unwrap();
    assert_eq!(next(&mut s1).await, b"again");
    drop(s1);
    // A distributed bus unsubscribes in the background: nobody listens *soon*.
    let mut receivers = usize::MAX;
    for _ in 0..50 {
        receivers = state.bus.publish(&channel, b"gone".to_vec()).await.unwrap();
        if receivers == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(receivers, 0, "dropped subscriptions stop receiving");
}

async fn next(s: &mut futures_util::stream::BoxStream<'static, Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap().unwrap()
}

/// An event log replays, in order, the events after a given id.
pub async fn event_log_replays_after_id(state: &StateHandles) {
    let stream = format!("s-{}", random_id());
    let other = format!("s-{}", random_id());
    let first = state.events.append(&stream, b"one").await.unwrap();
    state.events.append(&other, b"elsewhere").await.unwrap();
    let second = state.events.append(&stream, b"two").await.unwrap();
    state.events.append(&stream, b"three").await.unwrap();
    assert_ne!(first, second);
    let (s, events) = state.events.after(&first).await.unwrap().unwrap();
    assert_eq!(s, stream);
    let bodies: Vec<_> = events.iter().map(|(_, m)| m.as_slice()).collect();
    assert_eq!(bodies, vec![b"two".as_slice(), b"three".as_slice()], "only this stream, only later events");
    assert_eq!(state.events.after("no-such-event").await.unwrap(), None);

    // Appends racing from several instances: the log's order is the ids' order, with no gap.
    let raced = format!("s-{}", random_id());
    let start = state.events.append(&raced, b"start").await.unwrap();
    let appends = (0..16).map(|i| {
        let (events, raced) = (state.events.clone(), raced.clone());
        tokio::spawn(async move { events.append(&raced, format!("m{i}").as_bytes()).await.unwrap() })
    });
    let mut ids = Vec::new();
    for a in appends {
        ids.push(a.await.unwrap());
    }
    let (_, events) = state.events.after(&start).await.unwrap().unwrap();
    let logged: Vec<&String> = events.iter().map(|(id, _)| id).collect();
    let seq = |id: &str| id.rsplit_once('#').and_then(|(_, n)| n.parse::<u64>().ok()).unwrap();
    assert_eq!(logged.len(), 16);
    assert!(logged.windows(2).all(|w| seq(w[1]) == seq(w[0]) + 1), "in order, no gaps: {logged:?}");
    ids.sort_by_key(|id| seq(id));
    assert_eq!(logged, ids.iter().collect::<Vec<_>>());
}

/// Application data is written, read, listed by prefix and deleted, scope by scope.
pub async fn kv_roundtrip_and_prefix_listing(state: &StateHandles) {
    let scope = format!("suite-{}", random_id());
    let kv = &state.kv;
    let p = "notes/";
    assert_eq!(kv.get(&scope, &format!("{p}a")).await.unwrap(), None);
    kv.put(&scope, &format!("{p}b"), b"2", None).await.unwrap();
    kv.put(&scope, &format!("{p}a"), b"1", None).await.unwrap();
    kv.put(&scope, &format!("{p}a"), b"one", None).await.unwrap();
    kv.put(&scope, &format!("{p}c"), b"3", None).await.unwrap();
    assert_eq!(kv.get(&scope, &format!("{p}a")).await.unwrap().as_deref(), Some(b"one".as_slice()));
    let keys = kv.keys(&scope, p, 2).await.unwrap();
    assert_eq!(keys, vec![format!("{p}a"), format!("{p}b")]);
    assert!(kv.delete(&scope, &format!("{p}a")).await.unwrap());
    assert!(!kv.delete(&scope, &format!("{p}a")).await.unwrap());
    assert_eq!(kv.keys(&scope, p, 10).await.unwrap().len(), 2);
    assert!(kv.keys(&scope, &format!("{p}zzz"), 10).await.unwrap().is_empty());
    // Scopes are apart: the same key in another scope is another item.
    let other = format!("{scope}-other");
    assert_eq!(kv.get(&other, &format!("{p}b")).await.unwrap(), None);
    assert!(kv.keys(&other, p, 10).await.unwrap().is_empty());
    assert!(!kv.delete(&other, &format!("{p}b")).await.unwrap());
    // An expired item is gone for every read, before any sweep removes it.
    kv.put(&scope, "gone", b"x", Some(now_ms() - 1)).await.unwrap();
    kv.put(&scope, "kept", b"y", Some(now_ms() + 60_000)).await.unwrap();
    assert_eq!(kv.get(&scope, "gone").await.unwrap(), None);
    assert_eq!(kv.get(&scope, "kept").await.unwrap().as_deref(), Some(b"y".as_slice()));
    let all = kv.keys(&scope, "", 10).await.unwrap();
    assert!(all.contains(&"kept".to_owned()) && !all.contains(&"gone".to_owned()), "{all:?}");
}

/// A version read after a bump differs from the one before it.
pub async fn versions_change_on_every_bump(state: &StateHandles) {
    let key = format!("test:{}", random_id());
    assert_eq!(state.versions.current(&key).await.unwrap(), 0);
    let a = state.versions.bump(&key).await.unwrap();
    let b = state.versions.bump(&key).await.unwrap();
    assert_ne!(b, a);
    assert_ne!(b, 0);
    assert_eq!(state.versions.current(&key).await.unwrap(), b);
    assert_eq!(state.versions.copy(&key).await.unwrap(), None);
    state.versions.keep_copy(&key, b, b"record", 60_000).await.unwrap();
    assert_eq!(state.versions.copy(&key).await.unwrap(), Some((b, b"record".to_vec())));
}

/// Two instances with their own L1 over the same stores: a change made through one is seen
/// by the other at once.
pub async fn l1_never_serves_a_stale_session(state: &StateHandles) {
    let a = state.clone().with_l1();
    let b = state.clone().with_l1();
    let id = random_id();
    a.sessions.create(&session(&id, now_ms() + 60_000)).await.unwrap();
    assert!(b.sessions.get(&id).await.unwrap().is_some());
    assert!(a.sessions.get(&id).await.unwrap().is_some());
    assert!(b.sessions.set_log_level(&id, LoggingLevel::Error).await.unwrap());
    assert_eq!(a.sessions.get(&id).await.unwrap().unwrap().log_level, Some(LoggingLevel::Error));
    // A third instance, cold, is served from the shared copy, and sees the same record.
    let c = state.clone().with_l1();
    assert_eq!(c.sessions.get(&id).await.unwrap().unwrap().log_level, Some(LoggingLevel::Error));
    assert!(a.sessions.delete(&id).await.unwrap().is_some());
    assert_eq!(b.sessions.get(&id).await.unwrap(), None, "a session deleted elsewhere is gone here too");
    assert_eq!(c.sessions.get(&id).await.unwrap(), None, "and its shared copy is stale");
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_backend_passes_the_suite() {
        super::run_all(&super::StateHandles::in_memory()).await;
    }
}
