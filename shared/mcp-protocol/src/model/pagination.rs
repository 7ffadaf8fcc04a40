//! Cursor-paginated list requests.

use serde::{Deserialize, Serialize};

/// Params of every `*/list` request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PaginatedParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
