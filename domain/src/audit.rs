//! The audit log's hash chain.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash followed by a canonical encoding of
//! the entry itself. Changing, removing or reordering any entry therefore breaks every link after
//! it, and the first broken link names the entry that was touched. The encoding is our own and
//! fixed (length-prefixed fields, JSON with sorted keys), so it does not depend on how a database
//! or a JSON library happens to order or format things.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

const DOMAIN_SEPARATOR: &[u8] = b"trustwatch-audit-v1";

/// One entry of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// When it happened, at microsecond precision (what PostgreSQL keeps).
    pub at: DateTime<Utc>,
    /// Who did it: `user:<email>`, `token:<name>`, `cli` or `anonymous`.
    pub actor: String,
    /// What happened, as `area.verb`, e.g. `auth.login_failed`, `token.created`.
    pub action: String,
    /// What it happened to, e.g. `user:ada@example.org`.
    pub target: String,
    /// Further facts; never secrets.
    pub detail: serde_json::Value,
    /// Where the request came from, when there was one.
    pub source_ip: Option<String>,
    #[serde(with = "hex_bytes")]
    pub prev_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
}

/// The fields of an entry that is about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub source_ip: Option<String>,
}

impl AuditRecord {
    /// Seals the record as entry `seq` after `prev_hash`, computing its hash. `at` is truncated to
    /// microseconds so the hash still matches once the database has stored it.
    pub fn seal(self, seq: i64, at: DateTime<Utc>, prev_hash: &[u8]) -> AuditEntry {
        let at = truncate_to_micros(at);
        let mut entry = AuditEntry {
            seq,
            at,
            actor: self.actor,
            action: self.action,
            target: self.target,
            detail: self.detail,
            source_ip: self.source_ip,
            prev_hash: prev_hash.to_vec(),
            hash: Vec::new(),
        };
        entry.hash = entry.compute_hash().to_vec();
        entry
    }
}

impl AuditEntry {
    /// The hash this entry should carry given its contents and `prev_hash`.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(DOMAIN_SEPARATOR);
        h.update(&self.prev_hash);
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        field(self.seq.to_string().as_bytes());
        field(
            self.at
                .to_rfc3339_opts(SecondsFormat::Micros, true)
                .as_bytes(),
        );
        field(self.actor.as_bytes());
        field(self.action.as_bytes());
        field(self.target.as_bytes());
        field(canonical_json(&self.detail).as_bytes());
        match &self.source_ip {
            Some(ip) => field(format!("ip:{ip}").as_bytes()),
            None => field(b"-"),
        }
        h.finalize().into()
    }
}

/// Why the chain does not verify, at the first entry where it stops doing so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// The entry at which verification failed.
    pub seq: i64,
    pub problem: ChainProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainProblem {
    /// The entry's contents no longer match its hash: it was edited.
    ContentsAltered,
    /// The entry does not link to the one before it: that one was edited or removed.
    LinkBroken,
    /// Entries are missing before this one.
    MissingEntries { expected_seq: i64 },
}

impl ChainBreak {
    pub fn explain(&self) -> String {
        match &self.problem {
            ChainProblem::ContentsAltered => format!(
                "entry #{} was altered: its contents no longer match its recorded hash",
                self.seq
            ),
            ChainProblem::LinkBroken => format!(
                "entry #{} does not link to the entry before it: that entry was altered or replaced",
                self.seq
            ),
            ChainProblem::MissingEntries { expected_seq } => format!(
                "entries #{expected_seq} to #{} are missing: they were deleted",
                self.seq - 1
            ),
        }
    }
}

/// The verdict over a whole chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainStatus {
    Verified { entries: i64 },
    Broken(ChainBreak),
}

/// Verifies a chain entry by entry, so a caller can stream a large log through it.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: Vec<u8>,
    broken: Option<ChainBreak>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_vec(),
            broken: None,
        }
    }
}

impl ChainVerifier {
    /// Feeds the next entry in `seq` order. After the first break, further entries are ignored.
    pub fn push(&mut self, entry: &AuditEntry) {
        if self.broken.is_some() {
            return;
        }
        let problem = if entry.seq != self.expected_seq {
            Some(ChainProblem::MissingEntries {
                expected_seq: self.expected_seq,
            })
        } else if entry.prev_hash != self.prev_hash {
            Some(ChainProblem::LinkBroken)
        } else if entry.compute_hash().as_slice() != entry.hash.as_slice() {
            Some(ChainProblem::ContentsAltered)
        } else {
            None
        };
        match problem {
            Some(problem) => {
                self.broken = Some(ChainBreak {
                    seq: entry.seq,
                    problem,
                })
            }
            None => {
                self.expected_seq += 1;
                self.prev_hash = entry.hash.clone();
            }
        }
    }

    pub fn finish(self) -> ChainStatus {
        match self.broken {
            Some(b) => ChainStatus::Broken(b),
            None => ChainStatus::Verified {
                entries: self.expected_seq - 1,
            },
        }
    }
}

pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> ChainStatus {
    let mut v = ChainVerifier::default();
    for e in entries {
        v.push(e);
    }
    v.finish()
}

fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// JSON with object keys sorted and no insignificant whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        other => other.to_string(),
    }
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_vec();
        let t0 = DateTime::parse_from_rfc3339("2026-11-25T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        (1..=n)
            .map(|seq| {
                let e = AuditRecord {
                    actor: "user:ada@example.org".into(),
                    action: "token.created".into(),
                    target: format!("token:t{seq}"),
                    detail: json!({"scopes": ["read"], "b": 1, "a": {"z": true, "c": null}}),
                    source_ip: (seq % 2 == 0).then(|| "10.0.0.1".to_string()),
                }
                .seal(seq, t0 + chrono::Duration::seconds(seq), &prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(
            verify_chain(&chain(5)),
            ChainStatus::Verified { entries: 5 }
        );
        assert_eq!(verify_chain(&[]), ChainStatus::Verified { entries: 0 });
    }

    #[test]
    fn sealing_truncates_time_to_microseconds() {
        let c = chain(1);
        assert_eq!(c[0].at.timestamp_subsec_nanos() % 1000, 0);
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut c = chain(5);
        c[2].target = "token:someone-else".into();
        assert_eq!(
            verify_chain(&c),
            ChainStatus::Broken(ChainBreak {
                seq: 3,
                problem: ChainProblem::ContentsAltered
            })
        );
    }

    #[test]
    fn an_edited_detail_or_time_or_ip_is_caught() {
        let mut c = chain(4);
        c[1].detail = json!({"scopes": ["read", "ingest:signing"]});
        assert!(matches!(
            verify_chain(&c),
            ChainStatus::Broken(ChainBreak { seq: 2, .. })
        ));
        let mut c = chain(4);
        c[3].at += chrono::Duration::microseconds(1);
        assert!(matches!(
            verify_chain(&c),
            ChainStatus::Broken(ChainBreak { seq: 4, .. })
        ));
        let mut c = chain(4);
        c[1].source_ip = None;
        assert!(matches!(
            verify_chain(&c),
            ChainStatus::Broken(ChainBreak { seq: 2, .. })
        ));
    }

    #[test]
    fn a_rehashed_entry_breaks_the_next_link() {
        let mut c = chain(5);
        c[1].actor = "user:mallory@example.org".into();
        c[1].hash = c[1].compute_hash().to_vec();
        assert_eq!(
            verify_chain(&c),
            ChainStatus::Broken(ChainBreak {
                seq: 3,
                problem: ChainProblem::LinkBroken
            })
        );
    }

    #[test]
    fn a_deleted_entry_is_a_gap() {
        let mut c = chain(5);
        c.remove(1);
        let status = verify_chain(&c);
        assert_eq!(
            status,
            ChainStatus::Broken(ChainBreak {
                seq: 3,
                problem: ChainProblem::MissingEntries { expected_seq: 2 }
            })
        );
        if let ChainStatus::Broken(b) = status {
            assert!(b.explain().contains("#2 to #2"));
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 3}], "x": "s"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"s","y":[1,{"p":3,"q":2}]},"b":1}"#
        );
    }
}
