//! Moving trust from one key to its replacement: every policy and key group that names the old
//! key names the new one instead, thresholds unchanged. This is the change the *Rotate* step of a
//! key-compromise or planned-rotation playbook shows as a diff and applies.

use super::{KeyGroup, Policy, PolicyItem};

/// The documents among `items` that name `old`, rewritten to name `new` in its place. Documents
/// that do not name `old` are left out: applying the result changes exactly what trusted the old
/// key. Where a document already names `new` as well, the old name is dropped rather than
/// doubled; for a policy that lowers the number of authorities, so a threshold equal to the old
/// count is lowered with it (a 2-of-2 over old and new would otherwise become unsatisfiable).
pub fn replace_key(items: &[PolicyItem], old: &str, new: &str) -> Vec<PolicyItem> {
    items
        .iter()
        .filter_map(|item| match item {
            PolicyItem::Policy(p) => replace_in_policy(p, old, new).map(PolicyItem::Policy),
            PolicyItem::KeyGroup(g) => replace_in_group(g, old, new).map(PolicyItem::KeyGroup),
        })
        .collect()
}

fn replace_in_policy(policy: &Policy, old: &str, new: &str) -> Option<Policy> {
    let mut doc = policy.to_document();
    let keys = &mut doc.spec.authorities.keys;
    if !keys.iter().any(|k| k == old) {
        return None;
    }
    let already_new = keys.iter().any(|k| k == new);
    if already_new {
        keys.retain(|k| k != old);
        let authorities = (keys.len() + doc.spec.authorities.groups.len()) as i64;
        if let Some(t) = doc.spec.authorities.threshold.as_mut() {
            *t = (*t).min(authorities);
        }
    } else {
        for k in keys.iter_mut().filter(|k| *k == old) {
            *k = new.to_owned();
        }
    }
    // The rewritten document only renames a key it already passed validation with.
    Policy::from_document(&doc).ok()
}

fn replace_in_group(group: &KeyGroup, old: &str, new: &str) -> Option<KeyGroup> {
    if !group.keys().iter().any(|k| k == old) {
        return None;
    }
    let mut keys: Vec<String> = Vec::with_capacity(group.keys().len());
    for k in group.keys() {
        let k = if k == old { new } else { k.as_str() };
        if !keys.iter().any(|have| have == k) {
            keys.push(k.to_owned());
        }
    }
    KeyGroup::new(group.name(), keys).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse_documents;

    const FILE: &str = r#"apiVersion: trustwatch.dev/v1
kind: KeyGroup
metadata: {name: release}
spec: {keys: [old-key, other-key]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: payments}
spec:
  images: ["registry.example.com/payments/*"]
  authorities: {threshold: 2, keys: [old-key, audit-key]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: untouched}
spec:
  images: ["registry.example.com/web/*"]
  authorities: {keys: [other-key]}
"#;

    fn names(items: &[PolicyItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                PolicyItem::Policy(p) => format!("Policy/{}", p.name()),
                PolicyItem::KeyGroup(g) => format!("KeyGroup/{}", g.name()),
            })
            .collect()
    }

    #[test]
    fn only_documents_naming_the_old_key_change_and_keep_their_threshold() {
        let items = parse_documents(FILE).unwrap();
        let changed = replace_key(&items, "old-key", "new-key");
        assert_eq!(names(&changed), ["KeyGroup/release", "Policy/payments"]);
        let PolicyItem::KeyGroup(g) = &changed[0] else {
            panic!()
        };
        assert_eq!(g.keys(), ["new-key", "other-key"]);
        let PolicyItem::Policy(p) = &changed[1] else {
            panic!()
        };
        assert_eq!(
            p.key_authorities().collect::<Vec<_>>(),
            ["new-key", "audit-key"]
        );
        assert_eq!(p.threshold(), 2);
    }

    #[test]
    fn a_document_already_naming_the_new_key_drops_the_old_one() {
        let items = parse_documents(FILE).unwrap();
        let changed = replace_key(&items, "old-key", "audit-key");
        let PolicyItem::Policy(p) = &changed[1] else {
            panic!()
        };
        assert_eq!(p.key_authorities().collect::<Vec<_>>(), ["audit-key"]);
        assert_eq!(p.threshold(), 1, "2 of a single key could never be met");
        let changed = replace_key(&items, "old-key", "other-key");
        let PolicyItem::KeyGroup(g) = &changed[0] else {
            panic!()
        };
        assert_eq!(g.keys(), ["other-key"]);
    }

    #[test]
    fn a_key_nobody_trusts_changes_nothing() {
        let items = parse_documents(FILE).unwrap();
        assert!(replace_key(&items, "unknown", "new-key").is_empty());
    }
}
