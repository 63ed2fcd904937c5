// One argument per form field, so every step's form posts plain fields; the `server` macro
// does not carry an item-level `allow` over to the function it generates for the browser.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;

/// Works one step of an incident: `request_approval`, `approve`, `complete`, `skip`,
/// `override` (with `reason`) or `tick`/`untick` (with `item`). Completing an action step runs
/// its action with the given inputs. Security and admin users act; only security users approve,
/// never their own request. Returns what happened, in a sentence.
#[server(prefix = "/ui", endpoint = "incidents/act")]
pub async fn act_on_step(
    incident: String,
    step: String,
    command: String,
    reason: Option<String>,
    item: Option<usize>,
    contain_mode: Option<String>,
    replacement_name: Option<String>,
    replacement_pem: Option<String>,
    replacement_custody: Option<String>,
    policy_yaml: Option<String>,
    root_cause: Option<String>,
    follow_ups: Option<String>,
) -> Result<String, AppError> {
    use service::incidents::{ActionInput, ContainMode, StepCommand};

    let caller = crate::auth::require_one_of(&super::RESPONDERS).await?;
    let state = crate::auth::state()?;
    let id = super::incident_id(&incident)?;
    let invalid = |m: String| {
        crate::error::set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        AppError::Invalid(m)
    };
    let command = match command.as_str() {
        "request_approval" => StepCommand::RequestApproval,
        "approve" => StepCommand::Approve,
        "skip" => StepCommand::Skip,
        "override" => StepCommand::EmergencyOverride {
            reason: reason.unwrap_or_default(),
        },
        "tick" | "untick" => StepCommand::Tick {
            item: item.ok_or_else(|| invalid("item: which checklist item?".into()))?,
            ticked: command == "tick",
        },
        "complete" => StepCommand::Complete(ActionInput {
            contain_mode: ContainMode::parse(contain_mode.as_deref().unwrap_or(""))?,
            replacement_name,
            replacement_pem,
            replacement_custody,
            replacement_custody_uri: None,
            policy_yaml,
            root_cause,
            follow_ups,
        }),
        other => return Err(invalid(format!("{other:?} is not something a step can do"))),
    };
    Ok(service::incidents::act(
        &state.pool,
        &caller.actor(),
        &state.publisher,
        &state.webhooks,
        &super::responder(&caller),
        id,
        &step,
        command,
        chrono::Utc::now(),
    )
    .await?)
}
