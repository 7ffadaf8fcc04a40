//! Protocol versions and the two eras they belong to.

use serde::{Deserialize, Serialize};

/// The protocol revisions this implementation speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProtocolVersion {
    /// `2024-11-05`: the first published revision.
    #[serde(rename = "2024-11-05")]
    V2024_11_05,
    /// `2025-03-26`: Streamable HTTP, tool annotations, audio content.
    #[serde(rename = "2025-03-26")]
    V2025_03_26,
    /// `2025-06-18`: structured tool output, elicitation, resource links; no batches.
    #[serde(rename = "2025-06-18")]
    V2025_06_18,
    /// `2025-11-25`: the last session-era revision (icons, URL-mode elicitation, tasks).
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    /// `2026-07-28`: the stateless era: no sessions; version and capabilities in every request's `_meta`.
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

/// How state is carried: sessions (`initialize`, `Mcp-Session-Id`) or per-request `_meta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    /// 2025-11-25 and older: `initialize` negotiates a version for the session.
    Session,
    /// 2026-07-28: every request carries its version and capabilities in `_meta`.
    Stateless,
}

impl ProtocolVersion {
    /// Every version, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];
    /// The newest session-era version: what `initialize` offers when the client asks for
    /// something unknown.
    pub const LATEST_SESSION: ProtocolVersion = ProtocolVersion::V2025_11_25;
    /// The newest version this implementation speaks.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// The version string as it travels, such as `"2025-11-25"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// The version `s` names, or `None` when this implementation does not speak it.
    pub fn parse(s: &str) -> Option<ProtocolVersion> {
        ProtocolVersion::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The era the version belongs to: 2026-07-28 and later are stateless.
    pub fn era(self) -> Era {
        if self >= ProtocolVersion::V2026_07_28 { Era::Stateless } else { Era::Session }
    }

    /// The version strings of one era, newest first (for `supportedVersions` and error data).
    pub fn supported(era: Era) -> Vec<&'static str> {
        ProtocolVersion::ALL.into_iter().rev().filter(|v| v.era() == era).map(ProtocolVersion::as_str).collect()
    }

    /// Whether this version has structured tool output, elicitation and resource links
    /// (added in 2025-06-18).
    pub fn has_structured_output(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
