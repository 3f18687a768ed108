//! Protocol drift fails here, not in a user's run: everything weft sends (every client
//! method with every option and enum value, every reply to a server request) is checked
//! against the codex binary's own `app-server generate-json-schema` output, with no key the
//! schema does not declare; and every method, field and enum value weft reads must exist
//! there. `scripts/test` runs this against the pinned and the newest supported Codex.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use support::wire_schema::{SchemaDoc, generate};
use support::{codex_bin, within};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use weft::client::{
    ApprovalPolicy, Client, ClientConfig, ExternalContent, ExternalMessage, ModelListOptions,
    NetworkAccess, ReasoningEffort, SandboxMode, SandboxPolicy, ServerResponse, SortDirection,
    ThreadListOptions, ThreadOptions, ThreadSortKey, ThreadSourceKind, TurnOptions, TurnStatus,
    UserInput, handler_fn,
};

/// Everything the client wrote, and the server requests the fake sent (by id).
#[derive(Default)]
struct Wire {
    sent: Vec<Value>,
    asked: Vec<(Value, String)>,
}

#[tokio::test]
async fn everything_weft_sends_is_valid_for_the_codex_schema() {
    let dir = tempfile::tempdir().unwrap();
    generate(&codex_bin(), dir.path());
    let wire = Arc::new(Mutex::new(Wire::default()));
    let client = connect_to_fake(wire.clone()).await;
    within(exercise_every_method(&client)).await;
    drop(client);
    let wire = std::mem::take(&mut *wire.lock().unwrap());
    let problems = check_sent(dir.path(), &wire);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let methods: BTreeSet<&str> = wire
        .sent
        .iter()
        .filter_map(|m| m["method"].as_str())
        .collect();
    let replies = wire
        .sent
        .iter()
        .filter(|m| m.get("result").is_some())
        .count();
    assert_eq!(
        replies,
        wire.asked.len(),
        "every server request was answered"
    );
    let expected = [
        "account/login/cancel",
        "account/login/start",
        "account/logout",
        "account/read",
        "initialize",
        "initialized",
        "model/list",
        "thread/archive",
        "thread/compact/start",
        "thread/fork",
        "thread/list",
        "thread/name/set",
        "thread/read",
        "thread/resume",
        "thread/start",
        "thread/unarchive",
        "thread/unsubscribe",
        "turn/interrupt",
        "turn/start",
        "turn/steer",
    ];
    assert_eq!(
        methods,
        BTreeSet::from(expected),
        "the exercise covers every method"
    );
}

/// Checks each message the client wrote: requests and notifications against their
/// schema (valid, and no undeclared key), replies against the reply schema of the server
/// request they answer.
fn check_sent(dir: &Path, wire: &Wire) -> Vec<String> {
    let requests = SchemaDoc::read(dir, "ClientRequest.json");
    let notifications = SchemaDoc::read(dir, "ClientNotification.json");
    let server_requests = SchemaDoc::read(dir, "ServerRequest.json");
    let mut problems = Vec::new();
    for message in &wire.sent {
        let (doc, name) = match (&message["method"], &message["id"]) {
            (Value::String(_), Value::Null) => (&notifications, "ClientNotification".to_owned()),
            (Value::String(_), _) => (&requests, "ClientRequest".to_owned()),
            (_, id) => {
                let asked = wire.asked.iter().find(|(asked, _)| asked == id);
                let method = &asked.expect("a reply to a request the fake sent").1;
                check_reply(dir, &server_requests, method, message, &mut problems);
                continue;
            }
        };
        for error in invalid(&doc.root, message) {
            problems.push(format!("{name} {message}: {error}"));
        }
        for key in doc.unknown_keys(&doc.root, message, "") {
            problems.push(format!(
                "{name} sends `{key}`, which the schema does not declare"
            ));
        }
    }
    problems
}

fn check_reply(
    dir: &Path,
    requests: &SchemaDoc,
    method: &str,
    reply: &Value,
    out: &mut Vec<String>,
) {
    let params = requests.params_of(method)["$ref"]
        .as_str()
        .unwrap_or_default();
    let response = params
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace("Params", "Response");
    let doc = SchemaDoc::read(dir, &format!("{response}.json"));
    let Some(result) = reply.get("result") else {
        out.push(format!("the reply to `{method}` is an error: {reply}"));
        return;
    };
    for error in invalid(&doc.root, result) {
        out.push(format!("reply to `{method}` {result}: {error}"));
    }
    for key in doc.unknown_keys(&doc.root, result, "") {
        out.push(format!(
            "the reply to `{method}` sends `{key}`, which the schema does not declare"
        ));
    }
}

fn invalid(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("the schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect()
}

/// Every method of the client, with every option and every enum value at least once.
async fn exercise_every_method(client: &Client) {
    let efforts = [
        ReasoningEffort::None,
        ReasoningEffort::Minimal,
        ReasoningEffort::Low,
        ReasoningEffort::Medium,
        ReasoningEffort::High,
        ReasoningEffort::XHigh,
    ];
    let approvals = [
        ApprovalPolicy::Untrusted,
        ApprovalPolicy::OnRequest,
        ApprovalPolicy::Never,
    ];
    let modes = [
        SandboxMode::ReadOnly,
        SandboxMode::WorkspaceWrite,
        SandboxMode::DangerFullAccess,
    ];
    let mut config = serde_json::Map::new();
    config.insert("model_verbosity".into(), json!("low"));
    let full = ThreadOptions {
        model: Some("gpt-5.4".into()),
        effort: Some(ReasoningEffort::High),
        cwd: Some("/tmp".into()),
        approval_policy: Some(ApprovalPolicy::OnRequest),
        sandbox: Some(SandboxMode::WorkspaceWrite),
        base_instructions: Some("base".into()),
        developer_instructions: Some("developer".into()),
        config,
        ephemeral: Some(true),
    };
    let thread = client.thread_start(full.clone()).await.unwrap();
    for (i, effort) in efforts.iter().enumerate() {
        let options = ThreadOptions {
            effort: Some(*effort),
            approval_policy: Some(approvals[i % 3]),
            sandbox: Some(modes[i % 3]),
            ..ThreadOptions::default()
        };
        client.thread_start(options).await.unwrap();
    }
    client.thread_resume("thr", full.clone()).await.unwrap();
    client.thread_fork("thr", full.clone()).await.unwrap();
    client
        .thread_fork("thr", ThreadOptions::default())
        .await
        .unwrap();
    exercise_lists(client).await;
    client.thread_read("thr", true).await.unwrap();
    client.thread_archive("thr").await.unwrap();
    client.thread_unarchive("thr").await.unwrap();
    client.thread_unsubscribe("thr").await.unwrap();
    client.thread_release("thr").await.unwrap();
    thread.set_name("a name").await.unwrap();
    thread.compact().await.unwrap();
    exercise_turns(&thread, &efforts, &approvals).await;
    exercise_account(client).await;
}

async fn exercise_lists(client: &Client) {
    let all_sources = vec![
        ThreadSourceKind::Cli,
        ThreadSourceKind::Vscode,
        ThreadSourceKind::Exec,
        ThreadSourceKind::AppServer,
        ThreadSourceKind::SubAgent,
        ThreadSourceKind::SubAgentReview,
        ThreadSourceKind::SubAgentCompact,
        ThreadSourceKind::SubAgentThreadSpawn,
        ThreadSourceKind::SubAgentOther,
        ThreadSourceKind::Unknown,
    ];
    let keys = [
        ThreadSortKey::CreatedAt,
        ThreadSortKey::UpdatedAt,
        ThreadSortKey::RecencyAt,
    ];
    for (i, key) in keys.into_iter().enumerate() {
        let options = ThreadListOptions {
            cursor: Some("c".into()),
            limit: Some(5),
            sort_key: Some(key),
            sort_direction: Some([SortDirection::Asc, SortDirection::Desc][i % 2]),
            model_providers: Some(vec!["openai".into()]),
            source_kinds: all_sources.clone(),
            archived: Some(true),
            cwd: vec!["/tmp".into()],
            search_term: Some("x".into()),
        };
        client.thread_list(options).await.unwrap();
    }
    let models = ModelListOptions {
        include_hidden: true,
        cursor: Some("c".into()),
        limit: Some(3),
        model_provider: Some("openai".into()),
    };
    client.models(models).await.unwrap();
}

async fn exercise_turns(
    thread: &weft::client::Thread,
    efforts: &[ReasoningEffort],
    approvals: &[ApprovalPolicy],
) {
    let policies = [
        SandboxPolicy::DangerFullAccess,
        SandboxPolicy::ReadOnly {
            network_access: true,
        },
        SandboxPolicy::WorkspaceWrite {
            writable_roots: vec!["/tmp/out".into()],
            network_access: true,
            exclude_tmpdir_env_var: true,
            exclude_slash_tmp: true,
        },
        SandboxPolicy::ExternalSandbox {
            network_access: NetworkAccess::Restricted,
        },
        SandboxPolicy::ExternalSandbox {
            network_access: NetworkAccess::Enabled,
        },
        SandboxMode::ReadOnly.to_policy(),
    ];
    let inputs = vec![
        UserInput::text("hi"),
        UserInput::image("data:image/png;base64,AAAA"),
        UserInput::local_image("/tmp/a.png"),
        UserInput::Skill {
            name: "s".into(),
            path: "/tmp/skill".into(),
        },
        UserInput::Mention {
            name: "m".into(),
            path: "app://x".into(),
        },
    ];
    for (i, policy) in policies.into_iter().enumerate() {
        let options = TurnOptions {
            output_schema: Some(json!({"type": "object"})),
            approval_policy: Some(approvals[i % approvals.len()]),
            sandbox_policy: Some(policy),
            model: Some("gpt-5.4".into()),
            effort: Some(efforts[i % efforts.len()]),
            cwd: Some("/tmp".into()),
        };
        let turn = thread.turn(inputs.clone(), options).await.unwrap();
        turn.steer("more").await.unwrap();
        turn.interrupt().await.unwrap();
        turn.wait().await.unwrap();
    }
    let external = ExternalMessage {
        namespace: Some("web".into()),
        content: ExternalContent::Items(vec![
            json!({"type": "input_text", "text": "t"}),
            json!({"type": "input_image", "image_url": "data:image/png;base64,AAAA"}),
        ]),
        ..ExternalMessage::text("fetch", "")
    };
    thread.run(external, TurnOptions::default()).await.unwrap();
    let plain = ExternalMessage::text("fetch", "a page");
    thread.run(plain, TurnOptions::default()).await.unwrap();
}

async fn exercise_account(client: &Client) {
    client.account(false).await.unwrap();
    client.account(true).await.unwrap();
    client.login_api_key("sk-not-real").await.unwrap();
    client
        .login_chatgpt()
        .await
        .unwrap()
        .cancel()
        .await
        .unwrap();
    client.login_chatgpt_device_code().await.unwrap();
    client.logout().await.unwrap();
}

/// A client connected to an in-process fake app-server that answers every request with a
/// plausible result, completes every turn at once, and asks the client each kind of server
/// request with each kind of answer.
async fn connect_to_fake(wire: Arc<Mutex<Wire>>) -> Client {
    let (client_end, server_end) = tokio::io::duplex(1 << 20);
    let (client_read, client_write) = tokio::io::split(client_end);
    let (server_read, mut server_write) = tokio::io::split(server_end);
    let log = wire.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(server_read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let message: Value = serde_json::from_str(&line).expect("the client sends JSON");
            log.lock().unwrap().sent.push(message.clone());
            for out in answer(&message, &log) {
                let text = format!("{out}\n");
                if server_write.write_all(text.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    });
    let handler = handler_fn(|request| async move {
        match request.params["case"].as_u64().unwrap_or(0) {
            0 => ServerResponse::Accept,
            1 => ServerResponse::AcceptForSession,
            2 => ServerResponse::Decline,
            3 => ServerResponse::Cancel,
            _ => ServerResponse::Answers([("q".to_owned(), vec!["yes".to_owned()])].into()),
        }
    });
    let config = ClientConfig {
        request_handler: Arc::new(handler),
        ..ClientConfig::default()
    };
    within(Client::connect(client_read, client_write, config))
        .await
        .expect("handshake with the fake")
}

/// The fake's lines in answer to one client message.
fn answer(message: &Value, wire: &Mutex<Wire>) -> Vec<Value> {
    let Some(id) = message
        .get("id")
        .filter(|_| message.get("method").is_some())
    else {
        return Vec::new();
    };
    let method = message["method"].as_str().unwrap_or_default();
    let thread = json!({"id": "thr", "preview": "", "turns": []});
    let turn_done = |turn: &str| {
        json!({"method": "turn/completed", "params": {"threadId": "thr",
               "turn": {"id": turn, "status": "completed", "items": []}}})
    };
    let reply = |result: Value| json!({"id": id, "result": result});
    match method {
        "initialize" => {
            let mut out = vec![reply(
                json!({"userAgent": "fake/1.0.0 (test)", "codexHome": "/h"}),
            )];
            out.extend(server_requests(wire));
            out
        }
        "thread/start" | "thread/resume" | "thread/fork" | "thread/read" | "thread/unarchive" => {
            vec![reply(json!({ "thread": thread }))]
        }
        "thread/list" | "model/list" => vec![reply(json!({"data": []}))],
        "thread/unsubscribe" => vec![reply(json!({"status": "unsubscribed"}))],
        "turn/start" => vec![reply(json!({"turn": {"id": "turn"}})), turn_done("turn")],
        "thread/compact/start" => vec![reply(json!({})), turn_done("compaction")],
        "account/login/start" => vec![reply(match message["params"]["type"].as_str() {
            Some("chatgpt") => json!({"type": "chatgpt", "loginId": "L", "authUrl": "https://x"}),
            Some("chatgptDeviceCode") => json!({"type": "chatgptDeviceCode", "loginId": "D",
                                                 "verificationUrl": "https://x", "userCode": "C"}),
            _ => json!({"type": "apiKey"}),
        })],
        "account/login/cancel" => vec![reply(json!({"status": "canceled"}))],
        "account/read" => vec![reply(json!({"account": null, "requiresOpenaiAuth": false}))],
        _ => vec![reply(json!({}))],
    }
}

/// One of each server request the client answers, once per kind of answer.
fn server_requests(wire: &Mutex<Wire>) -> Vec<Value> {
    let base = json!({"threadId": "thr", "turnId": "turn", "itemId": "item"});
    let params = |extra: Value| {
        let mut params = base.clone();
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        params
    };
    let kinds = [
        (
            "item/commandExecution/requestApproval",
            params(json!({"command": "ls"})),
        ),
        ("item/fileChange/requestApproval", params(json!({}))),
        (
            "item/permissions/requestApproval",
            params(json!({"permissions": {}})),
        ),
        (
            "item/tool/requestUserInput",
            params(json!({"questions": []})),
        ),
        (
            "item/tool/call",
            params(json!({"tool": "t", "arguments": {}})),
        ),
        (
            "mcpServer/elicitation/request",
            params(json!({"serverName": "s"})),
        ),
        (
            "applyPatchApproval",
            json!({"conversationId": "thr", "callId": "c", "fileChanges": {}}),
        ),
        (
            "execCommandApproval",
            json!({"conversationId": "thr", "callId": "c", "command": ["ls"]}),
        ),
    ];
    let mut out = Vec::new();
    let mut wire = wire.lock().unwrap();
    for (k, (method, params)) in kinds.iter().enumerate() {
        for case in 0..5 {
            let id = json!(1000 + k * 10 + case);
            let mut params = params.clone();
            params["case"] = json!(case);
            wire.asked.push((id.clone(), (*method).to_owned()));
            out.push(json!({"id": id, "method": method, "params": params}));
        }
    }
    out
}

#[test]
fn every_method_field_and_value_weft_reads_is_in_the_codex_schema() {
    let dir = tempfile::tempdir().unwrap();
    generate(&codex_bin(), dir.path());
    let mut problems = method_names_problems(dir.path());
    problems.extend(field_problems(dir.path()));
    problems.extend(enum_problems(dir.path()));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `.rs` files under `dir`, in its subdirectories too, but for unit-test modules
/// (`tests.rs`, `fake.rs`): their strings are test data, not methods weft uses.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("tests.rs")
            && !path.ends_with("fake.rs")
        {
            files.push(path);
        }
    }
    files
}

/// Every method name written in the client and the engine (`"turn/completed"`, ...) is a
/// method of the protocol.
fn method_names_problems(dir: &Path) -> Vec<String> {
    let mut known = BTreeSet::new();
    for file in [
        "ClientRequest.json",
        "ClientNotification.json",
        "ServerNotification.json",
        "ServerRequest.json",
    ] {
        known.extend(
            SchemaDoc::read(dir, file)
                .methods()
                .into_iter()
                .map(|(m, _)| m),
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut used = BTreeSet::new();
    for module in ["client", "engine"] {
        let code = rust_files(&root.join(module))
            .into_iter()
            .filter(|p| !p.to_string_lossy().ends_with("tests.rs"));
        for path in code {
            let text = std::fs::read_to_string(path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            used.extend(
                text.split('"')
                    .skip(1)
                    .step_by(2)
                    .filter(|s| looks_like_method(s))
                    .map(str::to_owned),
            );
        }
    }
    assert!(
        used.contains("turn/start") && used.contains("item/completed"),
        "{used:?}"
    );
    used.difference(&known)
        .map(|m| format!("weft uses the method `{m}`, which the schema does not have"))
        .collect()
}

fn looks_like_method(text: &str) -> bool {
    let mut parts = text.split('/');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    first.starts_with(|c: char| c.is_ascii_lowercase())
        && !rest.is_empty()
        && std::iter::once(first)
            .chain(rest)
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// The fields the client reads, by where they come from (`src/client/*.rs`).
const READS: &[(&str, &str, &[&str])] = &[
    (
        "ServerNotification",
        "turn/started",
        &["threadId", "turn.id"],
    ),
    (
        "ServerNotification",
        "turn/completed",
        &[
            "threadId",
            "turn.id",
            "turn.status",
            "turn.error",
            "turn.durationMs",
            "turn.items",
        ],
    ),
    (
        "ServerNotification",
        "item/started",
        &["threadId", "turnId", "item.id", "item.type"],
    ),
    (
        "ServerNotification",
        "item/completed",
        &["threadId", "turnId", "item.id", "item.type"],
    ),
    (
        "ServerNotification",
        "item/agentMessage/delta",
        &["threadId", "turnId", "itemId", "delta"],
    ),
    (
        "ServerNotification",
        "item/reasoning/summaryTextDelta",
        &["turnId", "itemId", "delta"],
    ),
    (
        "ServerNotification",
        "item/reasoning/textDelta",
        &["turnId", "itemId", "delta"],
    ),
    (
        "ServerNotification",
        "item/commandExecution/outputDelta",
        &["turnId", "itemId", "delta"],
    ),
    (
        "ServerNotification",
        "thread/tokenUsage/updated",
        &[
            "turnId",
            "tokenUsage.total.totalTokens",
            "tokenUsage.total.inputTokens",
            "tokenUsage.total.cachedInputTokens",
            "tokenUsage.total.outputTokens",
            "tokenUsage.total.reasoningOutputTokens",
            "tokenUsage.last.totalTokens",
            "tokenUsage.modelContextWindow",
        ],
    ),
    (
        "ServerNotification",
        "error",
        &[
            "turnId",
            "willRetry",
            "error.message",
            "error.codexErrorInfo",
            "error.additionalDetails",
        ],
    ),
    (
        "ServerNotification",
        "account/login/completed",
        &["loginId", "success", "error"],
    ),
    (
        "ServerRequest",
        "item/commandExecution/requestApproval",
        &[
            "threadId",
            "turnId",
            "itemId",
            "command",
            "cwd",
            "reason",
            "commandActions[].command",
            "commandActions[].type",
        ],
    ),
    (
        "ServerRequest",
        "item/fileChange/requestApproval",
        &["threadId", "turnId", "itemId", "reason", "grantRoot"],
    ),
    (
        "ServerRequest",
        "item/permissions/requestApproval",
        &["threadId", "permissions", "reason"],
    ),
    (
        "ServerRequest",
        "item/tool/requestUserInput",
        &["threadId", "questions"],
    ),
    ("ServerRequest", "execCommandApproval", &["conversationId"]),
];

/// The fields the client reads from replies, by reply type (`codex_app_server_protocol.v2`).
const REPLY_READS: &[(&str, &[&str])] = &[
    (
        "ThreadStartResponse",
        &[
            "thread.id",
            "thread.preview",
            "thread.ephemeral",
            "thread.forkedFromId",
            "thread.cwd",
            "thread.path",
            "thread.turns",
            "thread.name",
        ],
    ),
    ("ThreadResumeResponse", &["thread.id"]),
    ("ThreadForkResponse", &["thread.id"]),
    ("ThreadUnarchiveResponse", &["thread.id"]),
    (
        "ThreadReadResponse",
        &[
            "thread.turns[].id",
            "thread.turns[].status",
            "thread.turns[].items",
            "thread.turns[].error",
            "thread.turns[].durationMs",
        ],
    ),
    ("ThreadListResponse", &["data[].id", "nextCursor"]),
    ("TurnStartResponse", &["turn.id"]),
    (
        "GetAccountResponse",
        &[
            "account.type",
            "account.email",
            "account.planType",
            "requiresOpenaiAuth",
        ],
    ),
    (
        "LoginAccountResponse",
        &["loginId", "authUrl", "verificationUrl", "userCode"],
    ),
    ("CancelLoginAccountResponse", &["status"]),
    (
        "ModelListResponse",
        &[
            "data[].model",
            "data[].displayName",
            "data[].description",
            "data[].isDefault",
            "data[].hidden",
            "data[].defaultReasoningEffort",
            "nextCursor",
        ],
    ),
];

/// Fields of the typed items (`ThreadItem` by `type`).
const ITEM_READS: &[(&str, &[&str])] = &[
    ("agentMessage", &["id", "text", "phase"]),
    (
        "commandExecution",
        &[
            "id",
            "command",
            "cwd",
            "status",
            "aggregatedOutput",
            "exitCode",
            "commandActions[].command",
            "commandActions[].type",
        ],
    ),
    (
        "fileChange",
        &[
            "id",
            "status",
            "changes[].path",
            "changes[].kind",
            "changes[].diff",
        ],
    ),
];

fn field_problems(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (file, method, paths) in READS {
        let doc = SchemaDoc::read(dir, &format!("{file}.json"));
        let params = doc.params_of(method);
        for path in *paths {
            if doc.at(params, path).is_empty() {
                problems.push(format!(
                    "weft reads `{path}` of `{method}`, which the schema does not have"
                ));
            }
        }
    }
    let v2 = SchemaDoc::read(dir, "codex_app_server_protocol.v2.schemas.json");
    for (name, paths) in REPLY_READS {
        for path in *paths {
            if v2.at(v2.definition(name), path).is_empty() {
                problems.push(format!(
                    "weft reads `{path}` of `{name}`, which the schema does not have"
                ));
            }
        }
    }
    for (kind, paths) in ITEM_READS {
        let item = v2.variant(v2.definition("ThreadItem"), "type", kind);
        for path in *paths {
            if v2.at(item, path).is_empty() {
                problems.push(format!(
                    "weft reads `{path}` of a `{kind}` item, which the schema does not have"
                ));
            }
        }
    }
    let init = SchemaDoc::read(dir, "v1/InitializeResponse.json");
    for path in ["userAgent", "codexHome"] {
        if init.at(&init.root, path).is_empty() {
            problems.push(format!(
                "weft reads `{path}` of `initialize`, which the schema does not have"
            ));
        }
    }
    problems
}

/// Every value of weft's enums is one the schema has (statuses weft reads, efforts it
/// sends and reads), and the item types and phases weft matches on exist.
fn enum_problems(dir: &Path) -> Vec<String> {
    let v2 = SchemaDoc::read(dir, "codex_app_server_protocol.v2.schemas.json");
    let wire = |value: Value| value.as_str().unwrap_or_default().to_owned();
    let statuses = [
        TurnStatus::InProgress,
        TurnStatus::Completed,
        TurnStatus::Interrupted,
        TurnStatus::Failed,
    ];
    let efforts = [
        ReasoningEffort::None,
        ReasoningEffort::Minimal,
        ReasoningEffort::Low,
        ReasoningEffort::Medium,
        ReasoningEffort::High,
        ReasoningEffort::XHigh,
    ];
    let expected: Vec<(&str, Vec<String>)> = vec![
        (
            "TurnStatus",
            statuses
                .iter()
                .map(|s| wire(serde_json::to_value(s).unwrap()))
                .collect(),
        ),
        (
            "ReasoningEffort",
            efforts.iter().map(|e| e.as_str().to_owned()).collect(),
        ),
        ("MessagePhase", vec!["final_answer".into()]),
        ("CancelLoginAccountStatus", vec!["canceled".into()]),
        (
            "ThreadUnsubscribeStatus",
            vec![
                "unsubscribed".into(),
                "notSubscribed".into(),
                "notLoaded".into(),
            ],
        ),
    ];
    let mut problems = Vec::new();
    for (name, values) in expected {
        let allowed = v2.enum_values(v2.definition(name));
        let open_string = allowed.is_empty() && v2.definition(name)["type"] == "string";
        for value in values
            .iter()
            .filter(|v| !open_string && !allowed.contains(*v))
        {
            problems.push(format!(
                "weft knows `{value}` as a `{name}`; the schema allows {allowed:?}"
            ));
        }
    }
    let account_types: BTreeSet<String> = v2
        .alternatives(v2.definition("Account"))
        .into_iter()
        .flat_map(|alt| v2.enum_values(&alt["properties"]["type"]))
        .collect();
    let item_types: BTreeSet<String> = v2
        .alternatives(v2.definition("ThreadItem"))
        .into_iter()
        .flat_map(|alt| v2.enum_values(&alt["properties"]["type"]))
        .collect();
    for (set, wanted) in [
        (&account_types, ["apiKey", "chatgpt"].as_slice()),
        (
            &item_types,
            &[
                "agentMessage",
                "commandExecution",
                "fileChange",
                "contextCompaction",
                "functionCallOutput",
            ],
        ),
    ] {
        for value in wanted.iter().filter(|v| !set.contains(**v)) {
            problems.push(format!(
                "weft matches on `{value}`, which the schema does not have"
            ));
        }
    }
    problems
}
