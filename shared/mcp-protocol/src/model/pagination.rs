//! Cursor-paginated list requests.

use serde::{Deserialize, Serialize};

/// Params of every `*/list` request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PaginatedParams {
    /// The `nextCursor` of the previous page; absent asks for the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
