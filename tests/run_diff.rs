//! `weft diff` end to end: the same workflow run twice through the real app-server with
//! one prompt changed; the diff names the changed elements (human and JSON) and exits 1,
//! a run against itself exits 0, an unknown run 2.

mod support;

use pretty_assertions::assert_eq;
use serde_json::Value;
use support::TestEnv;
use support::cli::{json_stdout, run_ids, stderr, weft, write};
use weft::mock::MockReply;

fn workflow(each: &str) -> String {
    format!(
        "steps:\n  first:\n    prompt: FIRST look\n  each:\n    needs: [first]\n    for_each: \"['x', 'y']\"\n    prompt: \"{each}\"\n"
    )
}

#[tokio::test]
async fn a_changed_prompt_shows_in_the_diff_of_two_runs() {
    let env = TestEnv::start(|r| {
        let text = r.last_user_text().unwrap_or_default();
        MockReply::text(format!("answer to {text}"))
    })
    .await;
    let file = write(&env.work(), "w.yaml", &workflow("EACH {{ item }}"));
    let out = weft(&env, &["run", &file]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    write(
        &env.work(),
        "w.yaml",
        &workflow("EACH {{ item }} carefully"),
    );
    let out = weft(&env, &["run", &file]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids = run_ids(&env);
    let (a, b) = (ids[0].as_str(), ids[1].as_str());

    let out = weft(&env, &["diff", a, "last"]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.starts_with(&format!(
            "runs {a} and {b}: 2 of 4 steps and elements differ\n"
        )),
        "{text}"
    );
    assert!(text.contains("unchanged: first, each\n"), "{text}");
    assert!(
        text.contains("changed each#0: prompt, output (tokens 15 -> 15)\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "--- {a} each#0 prompt\n+++ {b} each#0 prompt\n@@ -1 +1 @@\n-EACH x\n+EACH x carefully\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("-answer to EACH y\n+answer to EACH y carefully\n"),
        "{text}"
    );

    let out = weft(&env, &["diff", a, b, "--format", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let doc = json_stdout(&out);
    assert_eq!(doc["differs"], true);
    let units = doc["units"].as_array().expect("units");
    let states: Vec<(&str, Option<u64>, &str)> = units
        .iter()
        .map(|u| {
            (
                u["step"].as_str().unwrap(),
                u["index"].as_u64(),
                u["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("first", None, "same"),
            ("each", None, "same"),
            ("each", Some(0), "changed"),
            ("each", Some(1), "changed"),
        ]
    );
    assert_eq!(units[2]["changed"], serde_json::json!(["prompt", "output"]));
    assert_eq!(units[2]["a"]["prompt"], "EACH x");
    assert_eq!(units[2]["b"]["prompt"], "EACH x carefully");
    assert_eq!(units[3]["b"]["output"], "answer to EACH y carefully");
    assert_eq!(units[0]["a"]["tokens"], Value::from(15));

    let out = weft(&env, &["diff", b, b]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": 0 of 4 steps"));
    let out = weft(&env, &["diff", a, "nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no run `nope`"), "{}", stderr(&out));
}
