//! [`Entry`]: one stored result, as `entries/KEY.json` holds it: what the unit gave
//! (output, a script's exit code and stderr), the tokens it took (what a hit saves),
//! its key's parts (to name what changed), and, for a unit that changed files, its patch
//! (kept beside it as `KEY.patch`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::agent::Usage;
use crate::engine::tree::FileChange;

/// The version of the entry format; entries of another version are never served.
pub const ENTRY_VERSION: u32 = 1;

/// A stored result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub version: u32,
    pub key: String,
    /// The workflow and step it was stored for (a hit may serve another step whose key
    /// is the same).
    pub workflow: String,
    pub step: String,
    /// Each key part's hash.
    pub parts: BTreeMap<String, String>,
    pub output: Value,
    pub usage: Usage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// The files it changed; the patch text is kept beside the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<StoredPatch>,
    /// When it was stored (ms since the Unix epoch).
    pub created_ms: u64,
}

/// What a stored patch changes (its text is the `KEY.patch` file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPatch {
    pub files: Vec<FileChange>,
    pub insertions: u64,
    pub deletions: u64,
}
