//! From a playbook file to a [`Playbook`]: TOML errors and rule violations alike come out as the
//! file, the line and the reason. When a file breaks several rules the one nearest the top is
//! reported, so fixing a file goes from top to bottom.

use std::collections::HashMap;

use toml::Spanned;

use super::document::{PlaybookDocument, StepDocument};
use super::{ActionKind, Playbook, PlaybookError, QueryKind, Step, StepKind};
use crate::policy::is_valid_name;

const ID_RULE: &str =
    "must be 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit";
const KINDS: &str = "checklist, action, query, approval or review";

pub(super) fn parse(file: &str, text: &str) -> Result<Playbook, PlaybookError> {
    let error = |line: usize, reason: String| PlaybookError {
        file: file.to_owned(),
        line,
        reason,
    };
    let doc: PlaybookDocument = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        error(line, e.message().to_owned())
    })?;
    let mut problems = Problems {
        text,
        found: Vec::new(),
        gated: HashMap::new(),
    };
    let playbook = problems.playbook(doc);
    match problems.found.into_iter().min_by_key(|(line, _)| *line) {
        None => Ok(playbook),
        Some((line, reason)) => Err(error(line, reason)),
    }
}

fn kind_approval(kind: &StepKind) -> Option<&str> {
    match kind {
        StepKind::Action { approval, .. } => approval.as_deref(),
        _ => None,
    }
}

/// The line of the playbook's `id` in a file that parsed, for problems found across files.
pub(super) fn id_line(text: &str) -> usize {
    #[derive(serde::Deserialize)]
    struct JustTheId {
        id: Spanned<String>,
    }
    toml::from_str::<JustTheId>(text).map_or(1, |d| line_of(text, d.id.span().start))
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Problems<'t> {
    text: &'t str,
    found: Vec<(usize, String)>,
    /// Approval steps already gating an action, with the line of that action's gate.
    gated: HashMap<String, usize>,
}

/// What later steps need to know about an earlier one.
struct Seen {
    index: usize,
    line: usize,
    kind: &'static str,
    required: bool,
}

impl Problems<'_> {
    fn at<T>(&mut self, value: &Spanned<T>, reason: impl Into<String>) {
        let line = self.line(value);
        self.found.push((line, reason.into()));
    }

    fn line<T>(&self, value: &Spanned<T>) -> usize {
        line_of(self.text, value.span().start)
    }

    fn not_blank(&mut self, field: &str, value: &Spanned<String>) -> String {
        if value.get_ref().trim().is_empty() {
            self.at(value, format!("{field} is empty"));
        }
        value.get_ref().clone()
    }

    fn playbook(&mut self, doc: PlaybookDocument) -> Playbook {
        if !is_valid_name(doc.id.get_ref()) {
            self.at(
                &doc.id,
                format!("playbook id {:?} {ID_RULE}", doc.id.get_ref()),
            );
        }
        let title = self.not_blank("title", &doc.title);
        let description = self.not_blank("description", &doc.description);
        let version = match doc.version.get_ref() {
            toml::Value::Integer(v) if *v >= 1 && *v <= i64::from(u32::MAX) => *v as u32,
            other => {
                self.at(
                    &doc.version,
                    format!(
                        "version {other} is not a positive integer: number the versions 1, 2, 3 … and raise it whenever the steps change"
                    ),
                );
                0
            }
        };
        if doc.steps.is_empty() {
            self.at(
                &doc.id,
                "the playbook has no steps: add [[steps]] tables, the last of them the review",
            );
        }

        let mut seen: HashMap<String, Seen> = HashMap::new();
        let mut steps = Vec::with_capacity(doc.steps.len());
        let last = doc.steps.len().saturating_sub(1);
        for (index, step) in doc.steps.iter().enumerate() {
            steps.push(self.step(index, index == last, step, &seen));
            seen.entry(step.id.get_ref().clone()).or_insert(Seen {
                index,
                line: self.line(&step.id),
                kind: steps[index].kind.name(),
                required: steps[index].required,
            });
        }
        if let Some(last_step) = doc.steps.last() {
            if steps.last().is_some_and(|s| s.kind != StepKind::Review) {
                self.at(
                    &last_step.kind,
                    "the last step must be the review (kind = \"review\"): every incident ends with a write-up",
                );
            }
        }
        Playbook {
            id: doc.id.into_inner(),
            title,
            version,
            description,
            steps,
        }
    }

    fn step(
        &mut self,
        index: usize,
        is_last: bool,
        s: &StepDocument,
        seen: &HashMap<String, Seen>,
    ) -> Step {
        let id = s.id.get_ref();
        if !is_valid_name(id) {
            self.at(&s.id, format!("step id {id:?} {ID_RULE}"));
        }
        if let Some(first) = seen.get(id) {
            self.at(
                &s.id,
                format!("step id {id:?} is already used on line {}", first.line),
            );
        }
        let title = self.not_blank("title", &s.title);
        let instructions = self.not_blank("instructions", &s.instructions);

        let mut depends_on: Vec<String> = Vec::new();
        let mut approvals = Vec::new();
        for dep in &s.depends_on {
            let name = dep.get_ref();
            if name == id {
                self.at(dep, format!("step {id:?} depends on itself"));
            } else if depends_on.contains(name) {
                self.at(dep, format!("{name:?} is listed twice in depends_on"));
            } else {
                match seen.get(name) {
                    Some(earlier) if earlier.index < index => {
                        if earlier.kind == "approval" {
                            approvals.push(name.clone());
                        }
                    }
                    _ => self.at(
                        dep,
                        format!(
                            "depends_on {name:?} does not name an earlier step: a step can only depend on steps above it"
                        ),
                    ),
                }
            }
            depends_on.push(name.clone());
        }

        let required = s.required.as_ref().is_none_or(|r| *r.get_ref());
        let kind = self.kind(s, &approvals);
        if let (true, Some(approval)) = (required, kind_approval(&kind)) {
            if seen.get(approval).is_some_and(|a| !a.required) {
                if let Some(r) = &s.requires_approval {
                    self.at(
                        r,
                        format!(
                            "approval {approval:?} is optional, so this required action could never run once it is skipped: make both required or both optional"
                        ),
                    );
                }
            }
        }
        if kind == StepKind::Review {
            if !is_last {
                self.at(
                    &s.kind,
                    "a review step must be the last step, and there is only one",
                );
            }
            if let Some(r) = s.required.as_ref().filter(|r| !*r.get_ref()) {
                self.at(r, "the review cannot be optional");
            }
        }
        Step {
            id: id.clone(),
            title,
            kind,
            instructions,
            depends_on,
            required,
        }
    }

    fn kind(&mut self, s: &StepDocument, approvals: &[String]) -> StepKind {
        let kind = s.kind.get_ref().as_str();
        self.only_for(kind, "checklist", "items", &s.items);
        self.only_for(kind, "action", "action", &s.action);
        self.only_for(kind, "action", "requires_approval", &s.requires_approval);
        self.only_for(kind, "action", "emergency_override", &s.emergency_override);
        self.only_for(kind, "query", "query", &s.query);
        self.only_for(kind, "query", "auto_complete", &s.auto_complete);
        match kind {
            "checklist" => {
                let items = match &s.items {
                    None => {
                        self.at(&s.kind, "a checklist step needs items = [ … ]");
                        Vec::new()
                    }
                    Some(items) => {
                        if items.get_ref().is_empty() {
                            self.at(items, "a checklist needs at least one item");
                        }
                        items
                            .get_ref()
                            .iter()
                            .map(|i| self.not_blank("a checklist item", i))
                            .collect()
                    }
                };
                StepKind::Checklist { items }
            }
            "action" => {
                let action = match &s.action {
                    None => {
                        self.at(&s.kind, "an action step names its action: action = \"…\"");
                        ActionKind::NotifyWebhooks
                    }
                    Some(a) => ActionKind::parse(a.get_ref()).unwrap_or_else(|e| {
                        self.at(a, e);
                        ActionKind::NotifyWebhooks
                    }),
                };
                let approval = match &s.requires_approval {
                    Some(r) if *r.get_ref() => match approvals.first() {
                        Some(a) => {
                            // One approval, one change: an override of one action must not
                            // open the gate of another.
                            let line = self.line(r);
                            match self.gated.get(a) {
                                Some(first) => self.found.push((
                                    line,
                                    format!(
                                        "approval {a:?} already gates the action on line {first}: give each action its own approval step"
                                    ),
                                )),
                                None => {
                                    self.gated.insert(a.clone(), line);
                                }
                            }
                            Some(a.clone())
                        }
                        None => {
                            self.at(
                                r,
                                "requires_approval: depends_on must name an earlier approval step",
                            );
                            None
                        }
                    },
                    _ => None,
                };
                let emergency_override = match &s.emergency_override {
                    Some(o) if *o.get_ref() => {
                        if approval.is_none() {
                            self.at(
                                o,
                                "emergency_override bypasses an approval: it needs requires_approval = true",
                            );
                        }
                        true
                    }
                    _ => false,
                };
                StepKind::Action {
                    action,
                    approval,
                    emergency_override,
                }
            }
            "query" => {
                let query = match &s.query {
                    None => {
                        self.at(&s.kind, "a query step names its query: query = \"…\"");
                        QueryKind::BlastRadius
                    }
                    Some(q) => QueryKind::parse(q.get_ref()).unwrap_or_else(|e| {
                        self.at(q, e);
                        QueryKind::BlastRadius
                    }),
                };
                let auto_complete = match &s.auto_complete {
                    Some(a) if *a.get_ref() => {
                        if query.completion_condition().is_none() {
                            self.at(
                                a,
                                format!(
                                    "the {query} query has no completion condition: only a person can finish this step"
                                ),
                            );
                        }
                        true
                    }
                    _ => false,
                };
                StepKind::Query {
                    query,
                    auto_complete,
                }
            }
            "approval" => StepKind::Approval,
            "review" => StepKind::Review,
            other => {
                self.at(
                    &s.kind,
                    format!("{other:?} is not a step kind: expected {KINDS}"),
                );
                StepKind::Approval
            }
        }
    }

    fn only_for<T>(&mut self, kind: &str, owner: &str, field: &str, value: &Option<Spanned<T>>) {
        if let Some(v) = value {
            if kind != owner {
                self.at(
                    v,
                    format!("{field} belongs to {owner} steps, and this is a {kind} step"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid playbook; tests break it one line at a time. Line numbers are in comments
    /// so the expected lines below can be checked by eye.
    const VALID: &str = r#"id = "drill"
title = "A drill"
version = 3
description = "For tests."

[[steps]]
id = "declare"
title = "Declare"
kind = "checklist"
instructions = "Say what happened."
items = ["Pick the key", "Name a commander"]

[[steps]]
id = "scope"
title = "Blast radius"
kind = "query"
query = "blast_radius"
instructions = "Look at what the key signed."
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
id = "propagation"
title = "Propagation"
kind = "query"
query = "propagation"
auto_complete = true
instructions = "Wait for every cluster."
depends_on = ["contain"]

[[steps]]
id = "notify"
title = "Notify"
kind = "action"
action = "notify_webhooks"
required = false
instructions = "Tell the others."
depends_on = ["contain"]

[[steps]]
id = "review"
title = "Review"
kind = "review"
instructions = "Write it up."
depends_on = ["propagation"]
"#;

    fn line_of_text(needle: &str) -> usize {
        let at = VALID.find(needle).expect("needle in VALID");
        line_of(VALID, at)
    }

    /// `VALID` with `from` replaced by `to` (which must occur exactly once).
    fn broken(from: &str, to: &str) -> String {
        assert_eq!(VALID.matches(from).count(), 1, "{from:?} must occur once");
        VALID.replacen(from, to, 1)
    }

    fn error(text: &str) -> PlaybookError {
        parse("playbooks/drill.toml", text).expect_err("should be refused")
    }

    fn assert_error(text: &str, line: usize, reason_contains: &str) {
        let e = error(text);
        assert_eq!(e.file, "playbooks/drill.toml");
        assert!(
            e.reason.contains(reason_contains),
            "expected {reason_contains:?} in {:?}",
            e.reason
        );
        assert_eq!(e.line, line, "wrong line for {e}");
    }

    #[test]
    fn a_valid_playbook_parses_with_defaults() {
        let p = parse("drill.toml", VALID).unwrap();
        assert_eq!(p.id(), "drill");
        assert_eq!(p.title(), "A drill");
        assert_eq!(p.version(), 3);
        assert_eq!(p.steps().len(), 7);
        let declare = p.step("declare").unwrap();
        assert!(declare.required, "required is the default");
        assert_eq!(
            declare.kind,
            StepKind::Checklist {
                items: vec!["Pick the key".into(), "Name a commander".into()]
            }
        );
        assert_eq!(
            p.step("contain").unwrap().kind,
            StepKind::Action {
                action: ActionKind::ContainKey,
                approval: Some("approve".into()),
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
        assert!(!p.step("notify").unwrap().required);
        assert_eq!(p.step("review").unwrap().kind, StepKind::Review);
        assert_eq!(p.step("scope").unwrap().depends_on, ["declare"]);
    }

    #[test]
    fn the_parsed_playbook_round_trips_through_json() {
        let p = parse("drill.toml", VALID).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert!(
            json.contains(r#""kind":"action","action":"contain_key""#),
            "{json}"
        );
        let back: Playbook = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn error_display_is_file_line_reason() {
        let e = error(&broken(r#"title = "Declare""#, r#"title = " ""#));
        assert_eq!(e.to_string(), "playbooks/drill.toml:8: title is empty");
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a\nb", 99), 2);
    }

    #[test]
    fn toml_syntax_errors_name_their_line() {
        assert_error(
            &broken(r#"query = "blast_radius""#, r#"query = "blast_radius"#),
            line_of_text(r#"query = "blast_radius""#),
            "",
        );
        assert_error(&broken("version = 3", "version = 3 3"), 3, "");
    }

    #[test]
    fn unknown_and_missing_fields_name_their_line() {
        let line = line_of_text("required = false");
        assert_error(
            &broken("required = false", "requird = false"),
            line,
            "unknown field `requird`",
        );
        // A step without a title: toml points at the step's table.
        let text = broken("title = \"Blast radius\"\n", "");
        let e = error(&text);
        assert!(e.reason.contains("missing field `title`"), "{e}");
        // The line above the step's id: its [[steps]] header.
        assert_eq!(e.line, line_of_text("id = \"scope\"") - 1, "{e}");
    }

    #[test]
    fn ids_must_be_labels_and_unique() {
        assert_error(
            &broken(r#"id = "drill""#, r#"id = "Drill!""#),
            1,
            "playbook id",
        );
        let scope = line_of_text(r#"id = "scope""#);
        assert_error(
            &broken(r#"id = "scope""#, r#"id = "declare""#),
            scope,
            "already used on line 7",
        );
        assert_error(
            &broken(r#"id = "scope""#, r#"id = "Scope""#),
            scope,
            "step id \"Scope\" must be",
        );
    }

    #[test]
    fn titles_instructions_and_description_are_not_empty() {
        assert_error(
            &broken(r#"title = "A drill""#, r#"title = """#),
            2,
            "title is empty",
        );
        assert_error(
            &broken(r#"description = "For tests.""#, r#"description = "  ""#),
            4,
            "description is empty",
        );
        assert_error(
            &broken(
                r#"instructions = "Tell the others.""#,
                r#"instructions = """#,
            ),
            line_of_text("Tell the others."),
            "instructions is empty",
        );
    }

    #[test]
    fn version_is_a_positive_integer() {
        for bad in ["0", "-1", "\"1.2.0\"", "1.5", "4294967296"] {
            assert_error(
                &broken("version = 3", &format!("version = {bad}")),
                3,
                "not a positive integer",
            );
        }
        let p = parse("d.toml", &broken("version = 3", "version = 4294967295")).unwrap();
        assert_eq!(p.version(), u32::MAX);
    }

    #[test]
    fn kinds_actions_and_queries_are_closed_sets() {
        let kind = line_of_text(r#"kind = "approval""#);
        assert_error(
            &broken(r#"kind = "approval""#, r#"kind = "approve""#),
            kind,
            "\"approve\" is not a step kind",
        );
        let action = line_of_text(r#"action = "contain_key""#);
        assert_error(
            &broken(r#"action = "contain_key""#, r#"action = "delete_key""#),
            action,
            "\"delete_key\" is not an action: expected contain_key,",
        );
        let query = line_of_text(r#"query = "blast_radius""#);
        assert_error(
            &broken(r#"query = "blast_radius""#, r#"query = "everything""#),
            query,
            "is not a query",
        );
    }

    #[test]
    fn kinds_need_their_fields_and_refuse_the_others() {
        let items = line_of_text("items = [");
        assert_error(
            &broken(
                r#"items = ["Pick the key", "Name a commander"]"#,
                "items = []",
            ),
            items,
            "at least one item",
        );
        assert_error(
            &broken(
                r#"items = ["Pick the key", "Name a commander"]"#,
                r#"items = ["a", " "]"#,
            ),
            items,
            "a checklist item is empty",
        );
        assert_error(
            &broken(r#"items = ["Pick the key", "Name a commander"]"#, ""),
            line_of_text(r#"kind = "checklist""#),
            "a checklist step needs items",
        );
        assert_error(
            &broken(r#"action = "notify_webhooks""#, ""),
            line_of_text(
                r#"kind = "action"
action = "notify_webhooks""#,
            ),
            "an action step names its action",
        );
        assert_error(
            &broken(r#"query = "blast_radius""#, ""),
            line_of_text(
                r#"kind = "query"
query = "blast_radius""#,
            ),
            "a query step names its query",
        );
        // A field of another kind is refused where it is written.
        assert_error(
            &broken(
                r#"instructions = "A second security user approves.""#,
                "instructions = \"A second security user approves.\"\nquery = \"recovery\"",
            ),
            line_of_text("A second security user approves.") + 1,
            "query belongs to query steps, and this is a approval step",
        );
    }

    #[test]
    fn dependencies_name_earlier_steps_only() {
        let scope_deps = line_of_text(r#"depends_on = ["declare"]"#);
        assert_error(
            &broken(
                r#"Look at what the key signed."
depends_on = ["declare"]"#,
                r#"Look at what the key signed."
depends_on = ["contain"]"#,
            ),
            scope_deps,
            "depends_on \"contain\" does not name an earlier step",
        );
        assert_error(
            &broken(
                r#"Look at what the key signed."
depends_on = ["declare"]"#,
                r#"Look at what the key signed."
depends_on = ["nowhere"]"#,
            ),
            scope_deps,
            "\"nowhere\" does not name an earlier step",
        );
        assert_error(
            &broken(
                r#"Look at what the key signed."
depends_on = ["declare"]"#,
                r#"Look at what the key signed."
depends_on = ["scope"]"#,
            ),
            scope_deps,
            "depends on itself",
        );
        assert_error(
            &broken(
                r#"Look at what the key signed."
depends_on = ["declare"]"#,
                r#"Look at what the key signed."
depends_on = ["declare", "declare"]"#,
            ),
            scope_deps,
            "listed twice",
        );
    }

    #[test]
    fn a_dependency_written_on_several_lines_is_found_on_its_own_line() {
        let text = broken(
            r#"depends_on = ["propagation"]"#,
            "depends_on = [\n  \"propagation\",\n  \"later\",\n]",
        );
        let at = text.find("\"later\"").unwrap();
        assert_error(
            &text,
            line_of(&text, at),
            "\"later\" does not name an earlier step",
        );
    }

    #[test]
    fn gated_actions_need_an_approval_dependency() {
        let line = line_of_text("requires_approval = true");
        assert_error(
            &broken(
                r#"Mark the key compromised."
depends_on = ["approve"]"#,
                r#"Mark the key compromised."
depends_on = ["scope"]"#,
            ),
            line,
            "depends_on must name an earlier approval step",
        );
        assert_error(
            &broken("requires_approval = true\n", ""),
            // One line up: the line above it was taken out.
            line_of_text("emergency_override = true") - 1,
            "emergency_override bypasses an approval",
        );
        // Without requires_approval the action has no gate, even after an approval step.
        let p = parse(
            "d.toml",
            &broken("requires_approval = true\nemergency_override = true\n", ""),
        )
        .unwrap();
        assert_eq!(p.step("contain").unwrap().approval(), None);
    }

    #[test]
    fn an_approval_gates_one_action_and_is_as_required_as_it() {
        // A second action behind the same approval.
        let text = broken(
            r#"action = "notify_webhooks"
required = false"#,
            r#"action = "notify_webhooks"
requires_approval = true
required = false"#,
        );
        let text = text.replacen(
            r#"depends_on = ["contain"]

[[steps]]
id = "review""#,
            r#"depends_on = ["contain", "approve"]

[[steps]]
id = "review""#,
            1,
        );
        let e = error(&text);
        assert_eq!(
            e.line,
            line_of_text(r#"action = "notify_webhooks""#) + 1,
            "{e}"
        );
        assert!(
            e.reason.contains(&format!(
                "approval \"approve\" already gates the action on line {}",
                line_of_text("requires_approval = true")
            )),
            "{e}"
        );
        // An optional approval in front of a required action.
        let text = broken(
            r#"instructions = "A second security user approves.""#,
            "instructions = \"A second security user approves.\"\nrequired = false",
        );
        let e = error(&text);
        assert_eq!(e.line, line_of_text("requires_approval = true") + 1, "{e}");
        assert!(e.reason.contains("approval \"approve\" is optional"), "{e}");
    }

    #[test]
    fn auto_complete_only_for_queries_with_a_condition() {
        assert_error(
            &broken(
                r#"query = "blast_radius""#,
                "query = \"blast_radius\"\nauto_complete = true",
            ),
            line_of_text(r#"query = "blast_radius""#) + 1,
            "the blast_radius query has no completion condition",
        );
    }

    #[test]
    fn exactly_one_review_and_it_last() {
        // No review: the last step is named.
        let text = broken(
            r#"kind = "review""#,
            r#"kind = "checklist"
items = ["x"]"#,
        );
        assert_error(
            &text,
            line_of_text(r#"kind = "review""#),
            "the last step must be the review",
        );
        // A review in the middle.
        assert_error(
            &broken(r#"kind = "approval""#, r#"kind = "review""#),
            line_of_text(r#"kind = "approval""#),
            "a review step must be the last step",
        );
        // An optional review.
        let text = broken(
            r#"instructions = "Write it up.""#,
            "instructions = \"Write it up.\"\nrequired = false",
        );
        assert_error(
            &text,
            line_of_text("Write it up.") + 1,
            "the review cannot be optional",
        );
        // No steps at all.
        let head = VALID.split("[[steps]]").next().unwrap();
        assert_error(head, 1, "no steps");
    }

    #[test]
    fn the_first_problem_in_the_file_is_reported() {
        let text = broken(r#"title = "Review""#, r#"title = """#);
        let text = text.replacen(r#"title = "Declare""#, r#"title = """#, 1);
        assert_error(
            &text,
            line_of_text(r#"title = "Declare""#),
            "title is empty",
        );
    }
}
