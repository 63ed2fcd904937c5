//! One incident's progress through its playbook: which steps can be worked on, who may do what,
//! and whether the incident may be closed.
//!
//! Pure: [`Progress`] is built from the playbook and the stored step states (`incident_steps`),
//! and every allowed move comes back as a [`Transition`] for the caller to store. The caller
//! writes it conditionally on the status it started from (`WHERE status = from`), so when two
//! people act on the same step at once exactly one of them wins and the other sees a fresh page.
//! The two-person rule is checked here and again by the table's `CHECK`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use super::{Playbook, Step, StepKind};
use crate::Role;

/// The values of `incident_steps.status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    #[default]
    Pending,
    /// An approval someone asked for and nobody has given yet.
    Requested,
    /// An approval given by a second security user.
    Approved,
    Done,
    /// Deliberately not done: an optional step, or an approval bypassed by an emergency
    /// override (then [`StepState::override_reason`] says why).
    Skipped,
}

impl StepStatus {
    pub const ALL: [StepStatus; 5] = [
        StepStatus::Pending,
        StepStatus::Requested,
        StepStatus::Approved,
        StepStatus::Done,
        StepStatus::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Requested => "requested",
            StepStatus::Approved => "approved",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a step status"))
    }

    /// Nothing more will happen to the step; steps depending on it may go ahead.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            StepStatus::Approved | StepStatus::Done | StepStatus::Skipped
        )
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `incident_steps`, as far as the state machine cares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepState {
    pub status: StepStatus,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    /// Who completed or skipped the step; `None` when it completed itself.
    pub done_by: Option<String>,
    /// Set when an emergency override skipped this approval step: the written reason, kept for
    /// the audit log and the review.
    pub override_reason: Option<String>,
    /// The checklist items ticked, by index. Completing a checklist does not wait for every
    /// item (containment must not wait for the evidence to be archived); the items left are
    /// what the review reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ticked: Vec<usize>,
}

/// The user acting on a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Participant<'a> {
    /// The name the incident tables record (`requested_by`, `approved_by`, `done_by`).
    pub name: &'a str,
    pub role: Role,
}

impl Participant<'_> {
    /// Security and admin users work incidents; everyone else may only watch.
    fn may_act(&self) -> bool {
        matches!(self.role, Role::Security | Role::Admin)
    }
}

/// A move the state machine allowed: store `to` for `step_id` if the step is still at `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub step_id: String,
    pub from: StepStatus,
    pub to: StepState,
}

/// Why a move was refused; the message is fit to show to the person who tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the playbook has no step {0:?}")]
    UnknownStep(String),
    #[error("a {0} user cannot act on an incident: security and admin users do")]
    NotPermitted(Role),
    #[error("approvals are given by security users, and this is a {0} user")]
    ApproverNotSecurity(Role),
    #[error("step {step:?} waits for {}", waiting_for.join(", "))]
    NotReady {
        step: String,
        waiting_for: Vec<String>,
    },
    #[error("step {step:?} is a {kind} step: {hint}")]
    WrongKind {
        step: String,
        kind: &'static str,
        hint: &'static str,
    },
    #[error("step {step:?} is {status}")]
    WrongStatus { step: String, status: StepStatus },
    #[error("nobody approves their own request: another security user must approve {0:?}")]
    SelfApproval(String),
    #[error("step {step:?} needs approval {approval:?} first (or an emergency override)")]
    NotApproved { step: String, approval: String },
    #[error("step {0:?} is required and cannot be skipped")]
    RequiredStep(String),
    #[error("step {0:?} does not allow an emergency override")]
    OverrideNotAllowed(String),
    #[error("an emergency override needs a written reason")]
    OverrideNeedsReason,
    #[error("step {0:?} does not complete itself")]
    NotAutomatic(String),
    #[error("step {step:?} has no item {item}")]
    NoSuchItem { step: String, item: usize },
    #[error("the incident cannot be closed: required steps are unfinished: {}", .0.join(", "))]
    OpenRequiredSteps(Vec<String>),
}

/// The steps of one incident with their states.
#[derive(Debug, Clone)]
pub struct Progress<'p> {
    playbook: &'p Playbook,
    states: BTreeMap<String, StepState>,
}

impl<'p> Progress<'p> {
    /// `states` are the stored rows; a step without one is pending. A row for a step the
    /// playbook does not have is refused: the incident runs another version of the playbook
    /// than the one given.
    pub fn new(
        playbook: &'p Playbook,
        states: impl IntoIterator<Item = (String, StepState)>,
    ) -> Result<Self, RunError> {
        let mut all: BTreeMap<String, StepState> = playbook
            .steps()
            .iter()
            .map(|s| (s.id.clone(), StepState::default()))
            .collect();
        for (id, state) in states {
            match all.get_mut(&id) {
                Some(slot) => *slot = state,
                None => return Err(RunError::UnknownStep(id)),
            }
        }
        Ok(Self {
            playbook,
            states: all,
        })
    }

    pub fn playbook(&self) -> &'p Playbook {
        self.playbook
    }

    pub fn state(&self, step_id: &str) -> Option<&StepState> {
        self.states.get(step_id)
    }

    fn status(&self, step_id: &str) -> StepStatus {
        self.states
            .get(step_id)
            .map_or(StepStatus::Pending, |s| s.status)
    }

    fn step(&self, step_id: &str) -> Result<&'p Step, RunError> {
        self.playbook
            .step(step_id)
            .ok_or_else(|| RunError::UnknownStep(step_id.to_owned()))
    }

    /// The dependencies of `step` that are not finished yet.
    pub fn waiting_for(&self, step: &Step) -> Vec<String> {
        step.depends_on
            .iter()
            .filter(|d| !self.status(d).is_finished())
            .cloned()
            .collect()
    }

    /// Steps someone can work on now: not finished, every dependency finished.
    pub fn ready(&self) -> Vec<&'p Step> {
        self.playbook
            .steps()
            .iter()
            .filter(|s| !self.status(&s.id).is_finished() && self.waiting_for(s).is_empty())
            .collect()
    }

    fn ready_step(&self, step_id: &str) -> Result<&'p Step, RunError> {
        let step = self.step(step_id)?;
        let status = self.status(step_id);
        if status.is_finished() {
            return Err(RunError::WrongStatus {
                step: step_id.to_owned(),
                status,
            });
        }
        let waiting_for = self.waiting_for(step);
        if !waiting_for.is_empty() {
            return Err(RunError::NotReady {
                step: step_id.to_owned(),
                waiting_for,
            });
        }
        Ok(step)
    }

    fn transition(&self, step_id: &str, to: StepState) -> Transition {
        Transition {
            step_id: step_id.to_owned(),
            from: self.status(step_id),
            to,
        }
    }

    fn current(&self, step_id: &str) -> StepState {
        self.states.get(step_id).cloned().unwrap_or_default()
    }

    /// Asks for an approval: a pending, ready approval step becomes `requested` by `by`.
    pub fn request_approval(
        &self,
        step_id: &str,
        by: Participant<'_>,
    ) -> Result<Transition, RunError> {
        permitted(by)?;
        let step = self.ready_step(step_id)?;
        if step.kind != StepKind::Approval {
            return Err(wrong_kind(step, "only approval steps are requested"));
        }
        let status = self.status(step_id);
        if status != StepStatus::Pending {
            return Err(RunError::WrongStatus {
                step: step_id.to_owned(),
                status,
            });
        }
        Ok(self.transition(
            step_id,
            StepState {
                status: StepStatus::Requested,
                requested_by: Some(by.name.to_owned()),
                ..StepState::default()
            },
        ))
    }

    /// Gives a requested approval. Only a security user who is not the requester may.
    pub fn approve(&self, step_id: &str, by: Participant<'_>) -> Result<Transition, RunError> {
        if by.role != Role::Security {
            return Err(RunError::ApproverNotSecurity(by.role));
        }
        let step = self.ready_step(step_id)?;
        if step.kind != StepKind::Approval {
            return Err(wrong_kind(step, "only approval steps are approved"));
        }
        let current = self.current(step_id);
        if current.status != StepStatus::Requested {
            return Err(RunError::WrongStatus {
                step: step_id.to_owned(),
                status: current.status,
            });
        }
        if current.requested_by.as_deref() == Some(by.name) {
            return Err(RunError::SelfApproval(step_id.to_owned()));
        }
        Ok(self.transition(
            step_id,
            StepState {
                status: StepStatus::Approved,
                approved_by: Some(by.name.to_owned()),
                ..current
            },
        ))
    }

    /// Marks a ready step done. Approval steps are approved instead; an action's approval is one
    /// of its dependencies, so an action is ready only once approved (or overridden).
    pub fn complete(&self, step_id: &str, by: Participant<'_>) -> Result<Transition, RunError> {
        permitted(by)?;
        let step = self.ready_step(step_id)?;
        if step.kind == StepKind::Approval {
            return Err(wrong_kind(
                step,
                "request the approval, and another security user approves it",
            ));
        }
        // A skipped approval finishes the step but grants nothing, unless an override says why.
        if let Some(approval) = step.approval() {
            let gate = self.current(approval);
            let granted = gate.status == StepStatus::Approved
                || (gate.status == StepStatus::Skipped && gate.override_reason.is_some());
            if !granted {
                return Err(RunError::NotApproved {
                    step: step_id.to_owned(),
                    approval: approval.to_owned(),
                });
            }
        }
        Ok(self.transition(
            step_id,
            StepState {
                status: StepStatus::Done,
                done_by: Some(by.name.to_owned()),
                ..self.current(step_id)
            },
        ))
    }

    /// Marks a ready `auto_complete` query step done because its completion condition holds
    /// (the caller has checked it, for example every active cluster acknowledged the bundle).
    pub fn complete_automatically(&self, step_id: &str) -> Result<Transition, RunError> {
        let step = self.ready_step(step_id)?;
        match step.kind {
            StepKind::Query {
                auto_complete: true,
                ..
            } => Ok(self.transition(
                step_id,
                StepState {
                    status: StepStatus::Done,
                    done_by: None,
                    ..self.current(step_id)
                },
            )),
            _ => Err(RunError::NotAutomatic(step_id.to_owned())),
        }
    }

    /// Skips an optional step that is not finished. Required steps cannot be skipped.
    pub fn skip(&self, step_id: &str, by: Participant<'_>) -> Result<Transition, RunError> {
        permitted(by)?;
        let step = self.step(step_id)?;
        if step.required {
            return Err(RunError::RequiredStep(step_id.to_owned()));
        }
        let current = self.current(step_id);
        if current.status.is_finished() {
            return Err(RunError::WrongStatus {
                step: step_id.to_owned(),
                status: current.status,
            });
        }
        Ok(self.transition(
            step_id,
            StepState {
                status: StepStatus::Skipped,
                done_by: Some(by.name.to_owned()),
                ..current
            },
        ))
    }

    /// The emergency override of an action that allows one: its approval step is skipped with
    /// `reason` recorded, so the action can run without waiting for a second person. The
    /// returned transition is the approval step's.
    pub fn emergency_override(
        &self,
        action_step_id: &str,
        by: Participant<'_>,
        reason: &str,
    ) -> Result<Transition, RunError> {
        permitted(by)?;
        let step = self.step(action_step_id)?;
        let approval = match &step.kind {
            StepKind::Action {
                approval: Some(approval),
                emergency_override: true,
                ..
            } => approval,
            _ => return Err(RunError::OverrideNotAllowed(action_step_id.to_owned())),
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(RunError::OverrideNeedsReason);
        }
        let current = self.current(approval);
        if current.status.is_finished() {
            return Err(RunError::WrongStatus {
                step: approval.clone(),
                status: current.status,
            });
        }
        Ok(self.transition(
            approval,
            StepState {
                status: StepStatus::Skipped,
                done_by: Some(by.name.to_owned()),
                override_reason: Some(reason.to_owned()),
                ..current
            },
        ))
    }

    /// Ticks (or, with `ticked` false, unticks) item `item` of a checklist step that is not
    /// finished yet.
    pub fn tick(
        &self,
        step_id: &str,
        item: usize,
        ticked: bool,
        by: Participant<'_>,
    ) -> Result<Transition, RunError> {
        permitted(by)?;
        let step = self.step(step_id)?;
        let StepKind::Checklist { items } = &step.kind else {
            return Err(wrong_kind(step, "only checklist items are ticked"));
        };
        if item >= items.len() {
            return Err(RunError::NoSuchItem {
                step: step_id.to_owned(),
                item,
            });
        }
        let mut state = self.current(step_id);
        if state.status.is_finished() {
            return Err(RunError::WrongStatus {
                step: step_id.to_owned(),
                status: state.status,
            });
        }
        state.ticked.retain(|i| *i != item);
        if ticked {
            state.ticked.push(item);
            state.ticked.sort_unstable();
        }
        Ok(self.transition(step_id, state))
    }

    /// The items of finished checklist steps that were never ticked, for the review.
    pub fn unticked(&self) -> Vec<(&'p str, &'p str)> {
        let mut left = Vec::new();
        for step in self.playbook.steps() {
            if let StepKind::Checklist { items } = &step.kind {
                let state = self.states.get(&step.id);
                if state.is_some_and(|s| s.status == StepStatus::Done) {
                    for (i, item) in items.iter().enumerate() {
                        if !state.is_some_and(|s| s.ticked.contains(&i)) {
                            left.push((step.id.as_str(), item.as_str()));
                        }
                    }
                }
            }
        }
        left
    }

    /// The approvals bypassed by an emergency override, with their reasons, for the review.
    pub fn overrides(&self) -> Vec<(&str, &str)> {
        self.playbook
            .steps()
            .iter()
            .filter_map(|s| {
                let reason = self.states.get(&s.id)?.override_reason.as_deref()?;
                Some((s.id.as_str(), reason))
            })
            .collect()
    }

    /// The incident may be closed once every required step is finished.
    pub fn may_close(&self) -> Result<(), RunError> {
        let open: Vec<String> = self
            .playbook
            .steps()
            .iter()
            .filter(|s| s.required && !self.status(&s.id).is_finished())
            .map(|s| s.id.clone())
            .collect();
        if open.is_empty() {
            Ok(())
        } else {
            Err(RunError::OpenRequiredSteps(open))
        }
    }

    /// Takes a transition in, as the caller does after storing it.
    pub fn apply(&mut self, transition: Transition) {
        self.states.insert(transition.step_id, transition.to);
    }
}

fn permitted(by: Participant<'_>) -> Result<(), RunError> {
    if by.may_act() {
        Ok(())
    } else {
        Err(RunError::NotPermitted(by.role))
    }
}

fn wrong_kind(step: &Step, hint: &'static str) -> RunError {
    RunError::WrongKind {
        step: step.id.clone(),
        kind: step.kind.name(),
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::parse;

    const PLAYBOOK: &str = r#"id = "drill"
title = "A drill"
version = 1
description = "For tests."

[[steps]]
id = "declare"
title = "Declare"
kind = "checklist"
instructions = "Say what happened."
items = ["Pick the key"]

[[steps]]
id = "scope"
title = "Blast radius"
kind = "query"
query = "blast_radius"
instructions = "Look."
depends_on = ["declare"]

[[steps]]
id = "approve"
title = "Approve containment"
kind = "approval"
instructions = "A second security user approves."
depends_on = ["declare"]

[[steps]]
id = "contain"
title = "Contain"
kind = "action"
action = "contain_key"
requires_approval = true
emergency_override = true
instructions = "Mark the key compromised."
depends_on = ["approve"]

[[steps]]
id = "approve-notice"
title = "Approve the notice"
kind = "approval"
required = false
instructions = "Someone else reads the text."
depends_on = ["contain"]

[[steps]]
id = "notify"
title = "Notify"
kind = "action"
action = "notify_webhooks"
requires_approval = true
required = false
instructions = "Tell the others."
depends_on = ["approve-notice"]

[[steps]]
id = "propagation"
title = "Propagation"
kind = "query"
query = "propagation"
auto_complete = true
instructions = "Wait for every cluster."
depends_on = ["contain"]

[[steps]]
id = "review"
title = "Review"
kind = "review"
instructions = "Write it up."
depends_on = ["scope", "propagation"]
"#;

    const ADA: Participant<'static> = Participant {
        name: "ada@example.org",
        role: Role::Security,
    };
    const BOB: Participant<'static> = Participant {
        name: "bob@example.org",
        role: Role::Security,
    };
    const ADMIN: Participant<'static> = Participant {
        name: "root@example.org",
        role: Role::Admin,
    };
    const VIEWER: Participant<'static> = Participant {
        name: "vic@example.org",
        role: Role::Viewer,
    };

    fn playbook() -> Playbook {
        parse("drill.toml", PLAYBOOK).unwrap()
    }

    fn ready_ids(p: &Progress<'_>) -> Vec<String> {
        p.ready().iter().map(|s| s.id.clone()).collect()
    }

    fn done(p: &mut Progress<'_>, step: &str) {
        let t = p.complete(step, ADA).unwrap();
        p.apply(t);
    }

    #[test]
    fn statuses_are_the_tables() {
        // incident_steps: CHECK (status IN ('pending', 'requested', 'approved', 'done', 'skipped'))
        let names: Vec<&str> = StepStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["pending", "requested", "approved", "done", "skipped"]
        );
        for s in StepStatus::ALL {
            assert_eq!(StepStatus::parse(s.as_str()), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!(StepStatus::parse("open").is_err());
        let finished: Vec<bool> = StepStatus::ALL.iter().map(|s| s.is_finished()).collect();
        assert_eq!(finished, [false, false, true, true, true]);
    }

    #[test]
    fn stored_states_must_belong_to_the_playbook() {
        let p = playbook();
        let e = Progress::new(&p, [("rotate".to_owned(), StepState::default())]).unwrap_err();
        assert_eq!(e, RunError::UnknownStep("rotate".into()));
    }

    #[test]
    fn ready_steps_follow_dependencies() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        assert_eq!(ready_ids(&run), ["declare"]);
        assert_eq!(
            run.complete("scope", ADA),
            Err(RunError::NotReady {
                step: "scope".into(),
                waiting_for: vec!["declare".into()]
            })
        );
        done(&mut run, "declare");
        assert_eq!(ready_ids(&run), ["scope", "approve"]);
        done(&mut run, "scope");
        assert_eq!(ready_ids(&run), ["approve"]);
        // Finished steps cannot be finished twice.
        assert_eq!(
            run.complete("scope", ADA),
            Err(RunError::WrongStatus {
                step: "scope".into(),
                status: StepStatus::Done
            })
        );
    }

    #[test]
    fn stored_states_are_read_back() {
        let p = playbook();
        let run = Progress::new(
            &p,
            [
                (
                    "declare".to_owned(),
                    StepState {
                        status: StepStatus::Done,
                        done_by: Some(ADA.name.into()),
                        ..StepState::default()
                    },
                ),
                (
                    "approve".to_owned(),
                    StepState {
                        status: StepStatus::Requested,
                        requested_by: Some(ADA.name.into()),
                        ..StepState::default()
                    },
                ),
            ],
        )
        .unwrap();
        // A requested approval is still waiting to be approved, so still ready.
        assert_eq!(ready_ids(&run), ["scope", "approve"]);
        assert_eq!(
            run.approve("approve", ADA),
            Err(RunError::SelfApproval("approve".into()))
        );
        assert!(run.approve("approve", BOB).is_ok());
    }

    #[test]
    fn approvals_need_a_second_security_user() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        done(&mut run, "declare");
        // Nothing to approve before someone asks.
        assert_eq!(
            run.approve("approve", BOB),
            Err(RunError::WrongStatus {
                step: "approve".into(),
                status: StepStatus::Pending
            })
        );
        let t = run.request_approval("approve", ADA).unwrap();
        assert_eq!(t.from, StepStatus::Pending);
        assert_eq!(t.to.status, StepStatus::Requested);
        assert_eq!(t.to.requested_by.as_deref(), Some(ADA.name));
        run.apply(t);
        assert_eq!(
            run.request_approval("approve", BOB),
            Err(RunError::WrongStatus {
                step: "approve".into(),
                status: StepStatus::Requested
            })
        );
        // The action waits for the approval.
        assert!(matches!(
            run.complete("contain", ADA),
            Err(RunError::NotReady { .. })
        ));
        // Self-approval is refused, whatever the role.
        assert_eq!(
            run.approve("approve", ADA),
            Err(RunError::SelfApproval("approve".into()))
        );
        // Approvals come from security users: not an admin, not a viewer.
        assert_eq!(
            run.approve("approve", ADMIN),
            Err(RunError::ApproverNotSecurity(Role::Admin))
        );
        assert_eq!(
            run.approve("approve", VIEWER),
            Err(RunError::ApproverNotSecurity(Role::Viewer))
        );
        let t = run.approve("approve", BOB).unwrap();
        assert_eq!(t.from, StepStatus::Requested);
        assert_eq!(t.to.status, StepStatus::Approved);
        assert_eq!(t.to.requested_by.as_deref(), Some(ADA.name));
        assert_eq!(t.to.approved_by.as_deref(), Some(BOB.name));
        run.apply(t);
        assert!(ready_ids(&run).contains(&"contain".to_owned()));
        let t = run.complete("contain", ADA).unwrap();
        assert_eq!(t.to.status, StepStatus::Done);
        // The approval's record stays with the approval step, not the action.
        assert_eq!(t.to.approved_by, None);
    }

    #[test]
    fn approval_steps_are_not_completed_and_others_not_approved() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        assert!(matches!(
            run.request_approval("declare", ADA),
            Err(RunError::WrongKind {
                kind: "checklist",
                ..
            })
        ));
        done(&mut run, "declare");
        assert!(matches!(
            run.complete("approve", ADA),
            Err(RunError::WrongKind {
                kind: "approval",
                ..
            })
        ));
        assert!(matches!(
            run.approve("scope", BOB),
            Err(RunError::WrongKind { kind: "query", .. })
        ));
    }

    #[test]
    fn viewers_and_other_roles_cannot_act() {
        let p = playbook();
        let run = Progress::new(&p, []).unwrap();
        for role in [Role::Viewer, Role::Developer, Role::Auditor] {
            let who = Participant { name: "x", role };
            assert_eq!(
                run.complete("declare", who),
                Err(RunError::NotPermitted(role))
            );
            assert_eq!(run.skip("notify", who), Err(RunError::NotPermitted(role)));
            assert_eq!(
                run.emergency_override("contain", who, "key on pastebin"),
                Err(RunError::NotPermitted(role))
            );
        }
        assert!(run.complete("declare", ADMIN).is_ok());
        assert_eq!(
            run.complete("nowhere", ADA),
            Err(RunError::UnknownStep("nowhere".into()))
        );
    }

    #[test]
    fn emergency_override_requires_a_reason_and_is_recorded() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        done(&mut run, "declare");
        assert_eq!(
            run.emergency_override("contain", ADA, "  \n"),
            Err(RunError::OverrideNeedsReason)
        );
        // Only where the playbook allows it.
        assert_eq!(
            run.emergency_override("notify", ADA, "hurry"),
            Err(RunError::OverrideNotAllowed("notify".into()))
        );
        assert_eq!(
            run.emergency_override("scope", ADA, "hurry"),
            Err(RunError::OverrideNotAllowed("scope".into()))
        );
        let t = run
            .emergency_override(
                "contain",
                ADA,
                "  Key published on a public paste site; nobody else on call.  ",
            )
            .unwrap();
        assert_eq!(
            t.step_id, "approve",
            "the approval step is the one bypassed"
        );
        assert_eq!(t.to.status, StepStatus::Skipped);
        assert_eq!(t.to.done_by.as_deref(), Some(ADA.name));
        assert_eq!(
            t.to.override_reason.as_deref(),
            Some("Key published on a public paste site; nobody else on call.")
        );
        run.apply(t);
        assert_eq!(
            run.overrides(),
            [(
                "approve",
                "Key published on a public paste site; nobody else on call."
            )]
        );
        // The requester may now act alone.
        assert!(run.complete("contain", ADA).is_ok());
        // Once approved or overridden, there is nothing left to override.
        assert!(matches!(
            run.emergency_override("contain", BOB, "again"),
            Err(RunError::WrongStatus { .. })
        ));
    }

    #[test]
    fn an_override_also_ends_a_pending_request() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        done(&mut run, "declare");
        let t = run.request_approval("approve", ADA).unwrap();
        run.apply(t);
        let t = run
            .emergency_override("contain", ADA, "approver unreachable for 20 minutes")
            .unwrap();
        assert_eq!(t.from, StepStatus::Requested);
        assert_eq!(t.to.requested_by.as_deref(), Some(ADA.name));
        run.apply(t);
        assert_eq!(
            run.approve("approve", BOB),
            Err(RunError::WrongStatus {
                step: "approve".into(),
                status: StepStatus::Skipped
            })
        );
    }

    #[test]
    fn only_optional_steps_are_skipped_and_a_skipped_approval_grants_nothing() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        assert_eq!(
            run.skip("approve", ADA),
            Err(RunError::RequiredStep("approve".into()))
        );
        assert_eq!(
            run.skip("review", ADA),
            Err(RunError::RequiredStep("review".into()))
        );
        done(&mut run, "declare");
        let t = run.request_approval("approve", ADA).unwrap();
        run.apply(t);
        let t = run.approve("approve", BOB).unwrap();
        run.apply(t);
        done(&mut run, "contain");
        // Skipping the optional approval finishes it, but the notice it gates may not go out.
        let t = run.skip("approve-notice", ADA).unwrap();
        assert_eq!(t.to.status, StepStatus::Skipped);
        assert_eq!(t.to.override_reason, None);
        run.apply(t);
        assert_eq!(
            run.complete("notify", ADA),
            Err(RunError::NotApproved {
                step: "notify".into(),
                approval: "approve-notice".into()
            })
        );
        let t = run.skip("notify", ADA).unwrap();
        run.apply(t);
        assert!(matches!(
            run.skip("notify", ADA),
            Err(RunError::WrongStatus { .. })
        ));
    }

    #[test]
    fn only_auto_complete_queries_complete_themselves() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        done(&mut run, "declare");
        assert_eq!(
            run.complete_automatically("scope"),
            Err(RunError::NotAutomatic("scope".into()))
        );
        // Not before containment.
        assert!(matches!(
            run.complete_automatically("propagation"),
            Err(RunError::NotReady { .. })
        ));
        let t = run.emergency_override("contain", ADA, "on fire").unwrap();
        run.apply(t);
        done(&mut run, "contain");
        let t = run.complete_automatically("propagation").unwrap();
        assert_eq!(t.to.status, StepStatus::Done);
        assert_eq!(t.to.done_by, None);
    }

    #[test]
    fn checklist_items_are_ticked_and_the_rest_reported() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        assert!(matches!(
            run.tick("scope", 0, true, ADA),
            Err(RunError::WrongKind { kind: "query", .. })
        ));
        assert_eq!(
            run.tick("declare", 1, true, ADA),
            Err(RunError::NoSuchItem {
                step: "declare".into(),
                item: 1
            })
        );
        assert_eq!(
            run.tick("declare", 0, true, VIEWER),
            Err(RunError::NotPermitted(Role::Viewer))
        );
        let t = run.tick("declare", 0, true, ADA).unwrap();
        assert_eq!(t.to.ticked, [0]);
        assert_eq!(t.to.status, StepStatus::Pending);
        run.apply(t);
        let t = run.tick("declare", 0, false, BOB).unwrap();
        assert!(t.to.ticked.is_empty());
        run.apply(t);
        // Completing does not wait for the items, but the review hears of the ones left.
        done(&mut run, "declare");
        assert_eq!(run.unticked(), [("declare", "Pick the key")]);
        assert!(matches!(
            run.tick("declare", 0, true, ADA),
            Err(RunError::WrongStatus { .. })
        ));
    }

    #[test]
    fn closing_needs_every_required_step_finished() {
        let p = playbook();
        let mut run = Progress::new(&p, []).unwrap();
        assert_eq!(
            run.may_close(),
            Err(RunError::OpenRequiredSteps(vec![
                "declare".into(),
                "scope".into(),
                "approve".into(),
                "contain".into(),
                "propagation".into(),
                "review".into()
            ]))
        );
        done(&mut run, "declare");
        done(&mut run, "scope");
        let t = run.request_approval("approve", ADA).unwrap();
        run.apply(t);
        let t = run.approve("approve", BOB).unwrap();
        run.apply(t);
        done(&mut run, "contain");
        let t = run.complete_automatically("propagation").unwrap();
        run.apply(t);
        assert_eq!(
            run.may_close(),
            Err(RunError::OpenRequiredSteps(vec!["review".into()]))
        );
        let e = run.may_close().unwrap_err().to_string();
        assert!(e.contains("review"), "{e}");
        done(&mut run, "review");
        // The optional approval and notice were never touched: closing is still allowed.
        assert_eq!(run.state("notify").unwrap().status, StepStatus::Pending);
        assert_eq!(run.may_close(), Ok(()));
    }
}
