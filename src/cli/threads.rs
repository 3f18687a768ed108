//! `weft threads`: the agent's threads (from the app-server's `thread/list`), each with the
//! run steps that own it (from the run records). A thread a run owns is previewed by the
//! prompt its record keeps, where secrets are masked, not by the app-server's preview (the
//! prompt as the model got it, secrets and all).

use std::collections::BTreeMap;

use super::commands::Writer;
use super::record_args::ThreadsArgs;
use super::run::utc;
use crate::client::{Client, ClientConfig, ThreadInfo, ThreadListOptions};
use crate::error::{EXIT_SUCCESS, Error};
use crate::report::summary::align;
use crate::report::{RunState, RunStore};

/// `weft threads`.
pub fn threads(args: &ThreadsArgs, out: &mut Writer) -> Result<i32, Error> {
    let threads = list(args)?;
    let owners = owners(&RunStore::new(&args.runs_dir));
    let mut rows = vec![vec![
        "THREAD".to_string(),
        "CREATED".into(),
        "OWNER".into(),
        "PREVIEW".into(),
    ]];
    for t in &threads {
        let created = t.raw["createdAt"].as_u64().map(|s| utc(s * 1000));
        let (owner, preview) = match owners.get(&t.id) {
            Some(owner) => (
                group_by_run(&owner.steps),
                owner.prompt.clone().unwrap_or_default(),
            ),
            None => ("-".into(), t.preview.clone()),
        };
        rows.push(vec![
            t.id.clone(),
            created.unwrap_or_default(),
            owner,
            clip(&preview, 48),
        ]);
    }
    let _ = write!(out, "{}", align(&rows, &[]));
    Ok(EXIT_SUCCESS)
}

fn list(args: &ThreadsArgs) -> Result<Vec<ThreadInfo>, Error> {
    let cannot =
        |e: &dyn std::fmt::Display| Error::Agent(format!("cannot list the agent's threads: {e}"));
    let runtime = tokio::runtime::Runtime::new().map_err(|e| cannot(&e))?;
    let config = ClientConfig {
        codex_bin: args.agent.codex_bin.clone(),
        config_overrides: args.agent.config.clone(),
        ..ClientConfig::default()
    };
    runtime.block_on(async {
        let client = Client::spawn(config).await.map_err(|e| cannot(&e))?;
        let options = ThreadListOptions {
            limit: Some(args.limit),
            ..ThreadListOptions::default()
        };
        let listed = client.thread_list(options).await.map_err(|e| cannot(&e));
        let _ = client.close().await;
        listed.map(|l| l.data)
    })
}

/// Who owns a thread: the runs and steps, and the first prompt their records keep.
#[derive(Default)]
struct Owner {
    /// `(run, step)`, in record order.
    steps: Vec<(String, String)>,
    prompt: Option<String>,
}

/// Thread id → its owners, for every step (and fan-out element) in the records.
fn owners(store: &RunStore) -> BTreeMap<String, Owner> {
    let mut owners: BTreeMap<String, Owner> = BTreeMap::new();
    for id in store.ids() {
        let Ok(state) = RunState::load(&store.run_dir(&id)) else {
            continue;
        };
        for step in &state.steps {
            for unit in std::iter::once(step).chain(&step.elements) {
                let Some(thread) = &unit.thread_id else {
                    continue;
                };
                let name = match unit.index {
                    Some(i) => format!("{}#{i}", unit.id),
                    None => unit.id.clone(),
                };
                let owner = owners.entry(thread.clone()).or_default();
                if owner.prompt.is_none() {
                    owner.prompt.clone_from(&unit.prompt);
                }
                if !owner.steps.iter().any(|(r, n)| r == &id && n == &name) {
                    owner.steps.push((id.clone(), name));
                }
            }
        }
    }
    owners
}

/// `r1 a, b; r2 c` from `[(r1, a), (r1, b), (r2, c)]`.
fn group_by_run(list: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for (run, step) in list {
        if current == Some(run.as_str()) {
            out.push_str(&format!(", {step}"));
        } else {
            if current.is_some() {
                out.push_str("; ");
            }
            out.push_str(&format!("{run} {step}"));
            current = Some(run);
        }
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
