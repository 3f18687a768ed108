//! The secrets of a resumed run. The run record keeps no secret (a secret input is
//! recorded as `***`, a secret environment variable by its name only), so `weft resume`
//! takes each secret input again with `--input NAME=VALUE` (or `--inputs FILE`), reads
//! each secret environment variable from the environment again, and says which one is
//! missing and how to give it.

use serde_json::{Map, Value};

use super::record_args::ResumeArgs;
use crate::error::Error;
use crate::redact::MASK;
use crate::report::RunState;
use crate::workflow::Workflow;
use crate::workflow::inputs::{self, InputError};

/// The inputs the resumed run runs with: the recorded ones, each secret given again.
/// Only secret inputs may be given (another one only with the value it has, so the
/// inputs file of the first run can be given again): the others keep their values.
pub(super) fn inputs(
    state: &RunState,
    workflow: &Workflow,
    args: &ResumeArgs,
) -> Result<Map<String, Value>, Error> {
    let mut values = match &state.inputs {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let given = inputs::given(workflow, &args.inputs, args.inputs_file.as_deref())?;
    for (name, value) in &given {
        let secret = workflow.secret_inputs().any(|s| s == name);
        if !secret && values.get(name) != Some(value) {
            return Err(InputError::NotSecret(name.clone()).into());
        }
    }
    for name in workflow.secret_inputs() {
        match given.get(name) {
            Some(value) => {
                values.insert(name.to_string(), value.clone());
            }
            None if values.get(name).and_then(Value::as_str) == Some(MASK) => {
                return Err(InputError::SecretNeeded {
                    what: format!("input `{name}`"),
                    run: state.run_id.clone(),
                    fix: format!(
                        "give it again: `weft resume {} --input {name}=...`",
                        state.run_id
                    ),
                }
                .into());
            }
            None => {}
        }
    }
    Ok(values)
}

/// Fails when a secret environment variable that was set when the run started is not set
/// now (the run's prompts read it, and the record does not keep it).
pub(super) fn check_env(state: &RunState, workflow: &Workflow) -> Result<(), Error> {
    let missing = state.secret_env.iter().find(|name| {
        workflow.secret_env.contains(name)
            && std::env::var_os(name.as_str()).is_none_or(|v| v.is_empty())
    });
    match missing {
        Some(name) => Err(InputError::SecretNeeded {
            what: format!("environment variable `{name}`"),
            run: state.run_id.clone(),
            fix: format!("set it again, then `weft resume {}`", state.run_id),
        }
        .into()),
        None => Ok(()),
    }
}
