//! Secret inputs (`secret: true`) and secret environment variables (`env: [{ name: X,
//! secret: true }]`): what the declarations may say, which values of a run are secret,
//! and the rule on their length. The masking itself is [`crate::redact`]'s.

use serde_json::{Map, Value};

use super::diagnostic::{Diagnostic, Diagnostics};
use super::inputs::InputError;
use super::model::{InputType, ThreadRef, Workflow};
use super::raw::RawInput;
use super::refs::{self, Kind};
use super::spanned::Spanned;
use crate::redact::{MASK, MIN_SECRET_CHARS};

/// Whether input `name` is secret; a secret must be a string and have no `default` (a
/// default would put the secret in the workflow file, which is copied into every run
/// record).
pub(super) fn check_declaration(
    name: &Spanned<String>,
    ty: InputType,
    raw: &RawInput,
    out: &mut Diagnostics,
) -> bool {
    let Some(secret) = raw.secret.as_ref().filter(|s| s.value) else {
        return false;
    };
    if ty != InputType::String {
        out.push(
            Diagnostic::new(
                secret.span,
                format!(
                    "input `{}` is {}: only a `string` input can be secret",
                    name.value,
                    article(ty)
                ),
            )
            .with_help("weft masks a secret as text; declare it `type: string`"),
        );
    }
    if let Some(default) = &raw.default {
        out.push(
            Diagnostic::new(
                default.span,
                format!(
                    "secret input `{}` has a `default`, which puts the secret in the workflow file",
                    name.value
                ),
            )
            .with_help(format!(
                "remove `default`; pass the value with `--input {}=...`, or read it from an environment variable marked `secret` in `env`",
                name.value
            )),
        );
    }
    true
}

fn article(ty: InputType) -> String {
    match ty {
        InputType::Integer | InputType::Array | InputType::Object | InputType::Enum => {
            format!("an `{}`", ty.as_str())
        }
        other => format!("a `{}`", other.as_str()),
    }
}

impl Workflow {
    /// The names of the secret inputs, in file order.
    pub fn secret_inputs(&self) -> impl Iterator<Item = &str> {
        self.inputs
            .iter()
            .filter(|i| i.secret)
            .map(|i| i.name.value.as_str())
    }

    /// Every secret as a template reads it: `inputs.token`, `env.GH_TOKEN`.
    pub fn secret_paths(&self) -> Vec<String> {
        let inputs = self.secret_inputs().map(|n| format!("inputs.{n}"));
        let env = self.secret_env.iter().map(|n| format!("env.{n}"));
        inputs.chain(env).collect()
    }
}

/// The secret values of a run: the secret inputs among `inputs` and the secret variables
/// of `env` (`lookup` reads the environment), each also without the white space around
/// it (a token read from a file ends in a newline; `| trim` drops it). A value that is
/// blank, or the mask itself (the stand-in a replay reads), hides nothing and is left out;
/// any other must have at least [`MIN_SECRET_CHARS`] characters besides that white space.
pub fn collect(
    workflow: &Workflow,
    inputs: &Map<String, Value>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, InputError> {
    let from_inputs = workflow.secret_inputs().filter_map(|name| {
        let value = inputs.get(name).and_then(Value::as_str)?;
        Some((format!("input `{name}`"), value.to_string()))
    });
    let from_env = workflow
        .secret_env
        .iter()
        .filter_map(|name| Some((format!("environment variable `{name}`"), lookup(name)?)));
    let mut values = Vec::new();
    for (what, value) in from_inputs.chain(from_env) {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed == MASK {
            continue;
        }
        let chars = trimmed.chars().count();
        if chars < MIN_SECRET_CHARS {
            return Err(InputError::SecretTooShort { what, chars });
        }
        if trimmed != value {
            values.push(trimmed.to_string());
        }
        values.push(value);
    }
    Ok(values)
}

impl Workflow {
    /// The secrets (`inputs.token`, `env.GH_TOKEN`) that step `index` reads in its
    /// prompt, `if`, `for_each`, `fail_if` or `resume`: what reaches its prompt, or
    /// decides how it runs.
    pub fn secrets_read_by(&self, index: usize) -> Vec<String> {
        let secret = self.secret_paths();
        let Some(step) = self.steps.get(index) else {
            return Vec::new();
        };
        if secret.is_empty() {
            return Vec::new();
        }
        let env = crate::template::environment();
        let mut codes = vec![(&step.prompt, Kind::Template)];
        codes.extend(step.if_expr.iter().map(|c| (c, Kind::Expression)));
        codes.extend(step.for_each.iter().map(|c| (c, Kind::Expression)));
        codes.extend(step.fail_if.iter().map(|c| (c, Kind::Expression)));
        if let ThreadRef::Resume(code) = &step.thread {
            codes.push((code, Kind::Template));
        }
        let mut read: Vec<String> = codes
            .into_iter()
            .filter_map(|(code, kind)| refs::analyze(&env, &self.source, code, kind).ok())
            .flatten()
            .filter_map(|r| (r.path.len() >= 2).then(|| r.path[..2].join(".")))
            .filter(|path| secret.contains(path))
            .collect();
        read.sort_by_key(|p| secret.iter().position(|s| s == p));
        read.dedup();
        read
    }
}
