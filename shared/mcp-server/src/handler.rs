//! The boxed handler types every catalogue entry stores.

use std::future::Future;
use std::pin::Pin;

/// The future every stored handler returns: boxed, so that handlers of different types are
/// stored alike, and `Send`, so that a multi-threaded runtime can serve them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
