//! Size limits shared by every transport.

/// API Gateway's WebSocket message limit, applied to every transport so that a message that
/// works on one works on all.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
