//! A playbook file as people write it (`playbooks/*.toml`). Every field keeps its position in the
//! file (`Spanned`) so that validation, which runs after TOML parsing, can still name the line of
//! the offending value. Unknown fields are refused: a misspelt `requird = false` must not leave a
//! step silently required (or worse, the other way round).

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlaybookDocument {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    /// Kept as any TOML value so that `version = "2"` or `version = 0` reach validation and get
    /// a message that says what a version is, rather than serde's "invalid type".
    pub version: Spanned<toml::Value>,
    pub description: Spanned<String>,
    #[serde(default)]
    pub steps: Vec<StepDocument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepDocument {
    pub id: Spanned<String>,
    pub title: Spanned<String>,
    pub kind: Spanned<String>,
    /// Markdown.
    pub instructions: Spanned<String>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    pub required: Option<Spanned<bool>>,
    /// `checklist` steps only.
    pub items: Option<Spanned<Vec<Spanned<String>>>>,
    /// `action` steps only.
    pub action: Option<Spanned<String>>,
    /// `action` steps only: one of `depends_on` must be an `approval` step.
    pub requires_approval: Option<Spanned<bool>>,
    /// `action` steps that require approval: the approval may be bypassed with a written reason.
    pub emergency_override: Option<Spanned<bool>>,
    /// `query` steps only.
    pub query: Option<Spanned<String>>,
    /// `query` steps whose query has a completion condition: the step completes itself once the
    /// condition holds.
    pub auto_complete: Option<Spanned<bool>>,
}
