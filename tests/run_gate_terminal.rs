//! A gate on a terminal: weft asks on the terminal and waits for the answer, with the live
//! view hidden meanwhile. The terminal is a pseudo-terminal this test drives, as a person
//! would type; steps that do not depend on the gate run meanwhile.

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::json;
use support::cli::{command, json_stdout, write};
use support::{TestEnv, wait_until, within_for};
use weft::mock::MockReply;

/// A new pseudo-terminal: its controller side, and the path of its terminal side.
fn pseudo_terminal() -> (File, String) {
    // SAFETY: posix_openpt, grantpt, unlockpt and ptsname_r on a descriptor this test owns;
    // the name buffer outlives the call.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0, "grantpt");
        assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        (File::from_raw_fd(fd), path)
    }
}

const ASKED: &str = r#"
steps:
  plan:
    run: echo "rename the module"
  ship:
    needs: [plan]
    gate: "Apply this plan? {{ steps.plan.output }}"
  side:
    run: echo "independent"
  apply:
    run: echo "applying, noting $NOTE"
    env: { NOTE: "{{ steps.ship.output.reply }}" }
"#;

#[tokio::test]
async fn on_a_terminal_weft_asks_and_waits_for_the_answer() {
    let env = TestEnv::start(|_| MockReply::text("unused")).await;
    let file = write(&env.work(), "asked.yaml", ASKED);
    let (controller, terminal) = pseudo_terminal();
    let tty = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&terminal)
            .expect("open the terminal side")
    };
    let mut cmd = command(
        &env,
        &["run", &file, "--output", "json", "--progress", "live"],
    );
    cmd.stdin(Stdio::from(tty()))
        .stderr(Stdio::from(tty()))
        .stdout(Stdio::piped());
    let child = cmd.spawn().expect("spawn weft");

    let screen = Arc::new(Mutex::new(String::new()));
    let mut reader = controller.try_clone().expect("clone");
    let seen = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            seen.lock().unwrap().push_str(&text);
        }
    });
    let mut keys = controller;
    let shown = |needle: &'static str| {
        let screen = screen.clone();
        move || screen.lock().unwrap().contains(needle)
    };
    wait_until(Duration::from_secs(60), shown("approve? [y/n] ")).await;
    assert!(
        screen
            .lock()
            .unwrap()
            .contains("[ship] Apply this plan? rename the module"),
        "{}",
        screen.lock().unwrap()
    );
    keys.write_all(b"y\n").expect("type");
    wait_until(
        Duration::from_secs(60),
        shown("reply (optional; Enter for none): "),
    )
    .await;
    keys.write_all(b"keep the old name as an alias\n")
        .expect("type");
    let out = within_for(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("weft ran");
    let report = json_stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report:#}\n{}",
        screen.lock().unwrap()
    );
    let steps = &report["steps"];
    assert_eq!(
        steps["ship"]["output"],
        json!({"approved": true, "reply": "keep the old name as an alias"})
    );
    assert_eq!(
        steps["apply"]["output"],
        "applying, noting keep the old name as an alias"
    );
    assert_eq!(steps["side"]["status"], "succeeded");
}
