//! The playbooks shipped in `playbooks/` are valid, and each can be run from its first step to a
//! closed incident with two security users.
#![allow(clippy::unwrap_used)] // a test that panics loudly is the point

use std::path::PathBuf;

use domain::playbook::{
    self, ActionKind, Participant, Playbook, Progress, QueryKind, StepKind, StepStatus,
};
use domain::Role;

const SHIPPED: [&str; 4] = [
    "key-compromise",
    "planned-key-rotation",
    "signer-identity-revocation",
    "rejection-storm",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks")
}

fn load(id: &str) -> Playbook {
    let path = dir().join(format!("{id}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    playbook::parse(&path.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_file_in_the_directory_is_valid_and_the_four_are_there() {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let p = playbook::parse(&path.display().to_string(), &text)
                .unwrap_or_else(|e| panic!("{e}"));
            // The file is named after the playbook, so people find it.
            assert_eq!(path.file_stem().unwrap(), p.id());
            ids.push(p.id().to_owned());
        }
    }
    for id in SHIPPED {
        assert!(ids.iter().any(|i| i == id), "{id} is missing from {ids:?}");
    }
}

#[test]
fn key_compromise_follows_the_issue() {
    let p = load("key-compromise");
    let kinds: Vec<(&str, &str)> = p
        .steps()
        .iter()
        .map(|s| (s.id.as_str(), s.kind.name()))
        .collect();
    assert_eq!(kinds.first(), Some(&("declare", "checklist")));
    assert_eq!(kinds.last(), Some(&("review", "review")));
    assert_eq!(
        p.step("blast-radius").unwrap().kind,
        StepKind::Query {
            query: QueryKind::BlastRadius,
            auto_complete: false
        }
    );
    assert_eq!(
        p.step("contain").unwrap().kind,
        StepKind::Action {
            action: ActionKind::ContainKey,
            approval: Some("approve-containment".into()),
            emergency_override: true
        }
    );
    assert_eq!(
        p.step("propagation").unwrap().kind,
        StepKind::Query {
            query: QueryKind::Propagation,
            auto_complete: true
        }
    );
    let notify = p.step("notify").unwrap();
    assert!(!notify.required, "notifying webhooks is optional");
    let actions: Vec<ActionKind> = p
        .steps()
        .iter()
        .filter_map(|s| match s.kind {
            StepKind::Action { action, .. } => Some(action),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        [
            ActionKind::ContainKey,
            ActionKind::NotifyWebhooks,
            ActionKind::RegisterReplacementKey,
            ActionKind::UpdatePolicies
        ]
    );
    assert!(p.step("recovery").is_some());
}

#[test]
fn the_rejection_storm_fails_open_only_with_approval() {
    let p = load("rejection-storm");
    let fail_open = p.step("fail-open").unwrap();
    assert_eq!(fail_open.approval(), Some("approve-fail-open"));
    assert!(!fail_open.required);
    assert!(matches!(
        p.step("rejection-rates").unwrap().kind,
        StepKind::Query {
            query: QueryKind::RejectionRates,
            ..
        }
    ));
}

/// Works a playbook to the end as two security users would: Ada asks and acts, Bob approves;
/// optional steps are done too. Every step must become ready at some point.
fn run_to_close(p: &Playbook) {
    let ada = Participant {
        name: "ada@example.org",
        role: Role::Security,
    };
    let bob = Participant {
        name: "bob@example.org",
        role: Role::Security,
    };
    let mut run = Progress::new(p, []).unwrap();
    for _ in 0..p.steps().len() * 2 {
        let Some(step) = run.ready().first().copied() else {
            break;
        };
        let t = match step.kind {
            StepKind::Approval => {
                if run.state(&step.id).unwrap().status == StepStatus::Pending {
                    run.request_approval(&step.id, ada).unwrap()
                } else {
                    run.approve(&step.id, bob).unwrap()
                }
            }
            StepKind::Query {
                auto_complete: true,
                ..
            } => run.complete_automatically(&step.id).unwrap(),
            _ => run.complete(&step.id, ada).unwrap(),
        };
        run.apply(t);
    }
    assert_eq!(run.may_close(), Ok(()), "{}", p.id());
    assert!(run.ready().is_empty(), "{}: steps left", p.id());
}

#[test]
fn every_shipped_playbook_can_be_run_to_the_end() {
    for id in SHIPPED {
        run_to_close(&load(id));
    }
}
