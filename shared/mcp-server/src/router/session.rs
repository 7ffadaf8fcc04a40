//! The session era (2025-11-25 and older): `initialize`, then requests bound to a session.

use std::sync::Arc;

use serde_json::json;

use mcp_protocol::jsonrpc::{self, Request};
use mcp_protocol::model::logging::SetLevelParams;
use mcp_protocol::model::resources::UriParams;
use mcp_protocol::model::{InitializeParams, InitializeResult, ProtocolVersion, RequestMeta};
use mcp_protocol::{ErrorCode, ErrorObject, methods};

use super::{Cx, Inbound, Reply, ReplyStatus, Router, Transport};
use crate::error::HandlerError;
use crate::ids::random_id;
use crate::notifications::ListKind;
use crate::notifier::resource_topic;
use crate::outbound::Outbound;
use crate::state::{DeliveryTarget, SessionRecord, Subscriber, now_ms};

impl Router {
    pub(super) async fn initialize(&self, req: &Request<'_>, inbound: &Inbound) -> Reply {
        let params: InitializeParams = match req.params_as() {
            Ok(p) => p,
            Err(e) => return Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest),
        };
        // Echo a version we speak; otherwise offer our latest session-era version.
        let version = ProtocolVersion::parse(&params.protocol_version)
            .filter(|v| v.era() == mcp_protocol::model::Era::Session)
            .unwrap_or(ProtocolVersion::LATEST_SESSION);
        let id = match (inbound.transport, &inbound.session_id) {
            (Transport::Http, _) | (_, None) => random_id(),
            (_, Some(fixed)) => fixed.clone(),
        };
        let delivery = match inbound.transport {
            Transport::WebSocket => DeliveryTarget::Connection(id.clone()),
            Transport::Http | Transport::Stdio => DeliveryTarget::Channel(session_channel(&id)),
        };
        let now = now_ms();
        let record = SessionRecord {
            id: id.clone(),
            protocol_version: version.as_str().to_owned(),
            client_capabilities: params.capabilities,
            client_info: params.client_info,
            log_level: None,
            initialized: false,
            principal: inbound.principal.clone(),
            server: Some(self.name.to_string()),
            delivery: delivery.clone(),
            created_at_ms: now,
            expires_at_ms: inbound.within_credential(now + self.config.session_ttl.as_millis() as u64),
        };
        // A principal's live sessions are bounded (a re-initialize on a connection keeps its
        // place: the session id is the same).
        if let (Some(principal), Some(cap)) = (&inbound.principal, self.config.max_sessions_per_principal) {
            let ttl = record.expires_at_ms.saturating_sub(now);
            match self.state.rates.acquire(&super::sessions_key(principal), &id, cap, ttl).await {
                Ok(true) => {}
                Ok(false) => {
                    let e = ErrorObject::new(
                        ErrorCode::LIMIT_EXCEEDED,
                        format!(
                            "at most {cap} live sessions per principal: end one (HTTP DELETE, or close its connection) or let one expire"
                        ),
                    );
                    return Reply::error(Some(&req.id), &e, ReplyStatus::Ok);
                }
                Err(e) => tracing::warn!(error = %e, "session counter unavailable: session let through"),
            }
        }
        // A re-initialize on a WebSocket or stdio replaces the previous session.
        if inbound.transport != Transport::Http {
            let _ = self.state.sessions.delete(&id).await;
            let _ = self.state.subscriptions.remove_subscriber(&id).await;
        }
        if let Err(e) = self.state.sessions.create(&record).await {
            if let Some(principal) = &inbound.principal {
                let _ = self.state.rates.release(&super::sessions_key(principal), &id).await;
            }
            return Reply::error(Some(&req.id), &HandlerError::State(e).to_wire(false), ReplyStatus::Ok);
        }
        // Sessions follow every list the server can change.
        let follower = Subscriber {
            id: id.clone(),
            target: delivery,
            subscription_id: None,
            principal: inbound.principal.clone(),
            expires_at_ms: record.expires_at_ms,
        };
        for kind in LIST_KINDS {
            let _ = self.state.subscriptions.subscribe(&kind.topic(&self.name), &follower).await;
        }
        let server = self.server();
        let result = InitializeResult {
            protocol_version: version.as_str().to_owned(),
            capabilities: server.capabilities.clone(),
            server_info: server.info.clone(),
            instructions: server.instructions.clone(),
        };
        let mut reply = Reply::ok(jsonrpc::encode_result(&req.id, &result));
        reply.new_session = Some(id);
        reply.binds_connection = inbound.transport == Transport::WebSocket;
        reply
    }

    pub(super) async fn session_request(
        &self,
        req: Request<'_>,
        meta: Option<RequestMeta>,
        inbound: &Inbound,
        out: Arc<dyn Outbound>,
    ) -> Reply {
        let session = match self.session_of(&req, inbound).await {
            Ok(s) => s,
            Err(reply) => return reply,
        };
        let version = ProtocolVersion::parse(&session.protocol_version).unwrap_or(ProtocolVersion::LATEST_SESSION);
        let cx = Cx {
            inbound,
            version,
            stateless: false,
            capabilities: session.client_capabilities.clone(),
            // Before any logging/setLevel the server may choose: it sends everything.
            log_threshold: Some(session.log_level.unwrap_or(mcp_protocol::model::LoggingLevel::Debug)),
            progress_token: meta.and_then(|m| m.progress_token),
        };
        let id = &req.id;
        let result = match req.method.as_ref() {
            methods::PING => Ok(jsonrpc::encode_result(id, &json!({}))),
            methods::LOGGING_SET_LEVEL => self.set_level(&req, &session).await,
            methods::RESOURCES_SUBSCRIBE => self.subscribe(&req, &session, true).await,
            methods::RESOURCES_UNSUBSCRIBE => self.subscribe(&req, &session, false).await,
            _ => return self.catalogue(req, &cx, out).await,
        };
        match result {
            Ok(body) => Reply::ok(body),
            Err(e) => Reply::error(Some(id), &e.to_wire(false), ReplyStatus::Ok),
        }
    }

    async fn set_level(&self, req: &Request<'_>, session: &SessionRecord) -> Result<Vec<u8>, HandlerError> {
        let p: SetLevelParams = req.params_as().map_err(|e| HandlerError::InvalidParams(e.message))?;
        self.state.sessions.set_log_level(&session.id, p.level).await?;
        Ok(jsonrpc::encode_result(&req.id, &json!({})))
    }

    async fn subscribe(&self, req: &Request<'_>, session: &SessionRecord, on: bool) -> Result<Vec<u8>, HandlerError> {
        let p: UriParams = req.params_as().map_err(|e| HandlerError::InvalidParams(e.message))?;
        let topic = resource_topic(&self.name, &p.uri);
        if on {
            // One slot per topic in the shared store: a check and a take in one step, so that
            // concurrent subscribes cannot pass the cap together (a count of the rows, read from
            // an eventually consistent index, let them). Subscribing again keeps the slot.
            let cap = self.config.max_subscriptions as u64;
            let ttl = session.expires_at_ms.saturating_sub(now_ms());
            // Without shared counters (a Lambda without Redis) one instance's slots would not
            // see another's: the rows are counted instead, as when the counter is down (the
            // session's rows include the list topics it follows since `initialize`).
            let counted = match self.config.shared_signals {
                true => self.state.rates.acquire(&subscriptions_key(session), &topic, cap, ttl).await.map_err(|e| {
                    tracing::warn!(error = %e, "subscription counter unavailable: counting rows");
                }),
                false => Err(()),
            };
            let taken = match counted {
                Ok(taken) => taken,
                Err(()) => {
                    self.state.subscriptions.count_for(&session.id).await?
                        < self.config.max_subscriptions + LIST_KINDS.len()
                }
            };
            if !taken {
                return Err(HandlerError::rpc(ErrorObject::new(
                    ErrorCode::LIMIT_EXCEEDED,
                    format!("at most {} subscriptions per session", self.config.max_subscriptions),
                )));
            }
            let row = Subscriber {
                id: session.id.clone(),
                target: session.delivery.clone(),
                subscription_id: None,
                principal: session.principal.clone(),
                expires_at_ms: session.expires_at_ms,
            };
            self.state.subscriptions.subscribe(&topic, &row).await?;
            // A session ended while the row was written (a disconnect, a DELETE) removed its
            // rows before this one existed: take it back rather than leave it behind.
            if self.state.sessions.get(&session.id).await?.is_none() {
                self.state.subscriptions.unsubscribe(&topic, &session.id).await?;
                let _ = self.state.rates.release(&subscriptions_key(session), &topic).await;
                return Err(HandlerError::rpc(ErrorObject::new(
                    ErrorCode::SESSION_NOT_FOUND,
                    "Session not found: the session ended",
                )));
            }
        } else {
            self.state.subscriptions.unsubscribe(&topic, &session.id).await?;
            // Best effort: the row is gone; a slot not given back lapses with the session.
            if let Err(e) = self.state.rates.release(&subscriptions_key(session), &topic).await {
                tracing::warn!(error = %e, "subscription slot not given back; it lapses with the session");
            }
        }
        Ok(jsonrpc::encode_result(&req.id, &json!({})))
    }
}

/// The slots of one session's subscriptions: per incarnation (a connection's re-initialize
/// makes a new session under the same id, with none).
fn subscriptions_key(session: &SessionRecord) -> String {
    format!("subscriptions:{}:{}", session.id, session.created_at_ms)
}

/// The lists every session-era session follows (their `list_changed` notifications).
const LIST_KINDS: [ListKind; 3] = [ListKind::Tools, ListKind::Resources, ListKind::Prompts];

/// The bus channel of a session's unsolicited messages (the HTTP GET stream subscribes).
pub fn session_channel(session_id: &str) -> String {
    format!("{SESSION_CHANNEL_PREFIX}{session_id}")
}

const SESSION_CHANNEL_PREFIX: &str = "session:";

/// The session a channel of [`session_channel`] belongs to.
pub fn session_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix(SESSION_CHANNEL_PREFIX)
}

/// The event log of a session's unsolicited messages: each is logged before it is published,
/// so that a GET stream that ended (its bound, a lost connection) is resumed with
/// `Last-Event-ID` and misses nothing sent in between.
pub fn session_log(session_id: &str) -> String {
    format!("{session_id}/get")
}

/// How a logged message travels on a session's channel: `\0id:<event id>\n<message>` (a
/// control frame, never JSON), so that the stream can give it its id.
pub fn logged_frame(event_id: &str, message: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + event_id.len() + 1 + message.len());
    frame.extend_from_slice(LOGGED);
    frame.extend_from_slice(event_id.as_bytes());
    frame.push(b'\n');
    frame.extend_from_slice(message);
    frame
}

/// A frame of [`logged_frame`]: its event id and message.
pub fn parse_logged(frame: &[u8]) -> Option<(&str, &[u8])> {
    let rest = frame.strip_prefix(LOGGED)?;
    let split = rest.iter().position(|&b| b == b'\n')?;
    Some((std::str::from_utf8(&rest[..split]).ok()?, &rest[split + 1..]))
}

const LOGGED: &[u8] = b"\0id:";
