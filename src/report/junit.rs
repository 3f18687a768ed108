//! JUnit XML (`--junit FILE`): one testcase per step, and per fan-out element; failures
//! carry the step's error; a step that waits (for a gate) is skipped, saying so; written
//! when the run finishes. A fan-out step that fails once every element succeeded (its
//! patches conflict, or `fail_if`) gets a testcase of its own, so that the report fails
//! as the run does.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::atomic::write_atomic;
use super::{EventWriter, ReportError};
use crate::engine::event::{RunEvent, Status};

/// Collects step results and writes the report at `run.finished`.
pub struct Junit {
    path: PathBuf,
    suite: TestSuite,
    run_id: String,
    /// Steps whose elements were reported as testcases of their own.
    fanned_out: BTreeSet<String>,
    /// Steps one of whose elements did not succeed.
    element_failed: BTreeSet<String>,
}

impl Junit {
    pub fn new(path: PathBuf, workflow: &str) -> Self {
        Self {
            path,
            suite: TestSuite::new(workflow),
            run_id: String::new(),
            fanned_out: BTreeSet::new(),
            element_failed: BTreeSet::new(),
        }
    }

    fn case(&self, name: String, status: Status, error: Option<&str>, ms: u64) -> TestCase {
        let case_status = match status {
            Status::Succeeded => TestCaseStatus::success(),
            Status::Skipped | Status::Waiting => {
                let mut s = TestCaseStatus::skipped();
                if let Some(e) = error {
                    s.set_message(e);
                }
                s
            }
            Status::Failed | Status::Interrupted => {
                let kind = if status == Status::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(error.unwrap_or(status.as_str()));
                s.set_type(format!("step {}", status.as_str()));
                s
            }
        };
        let mut case = TestCase::new(name, case_status);
        case.set_classname(self.suite.name.as_str().to_string());
        case.set_time(Duration::from_millis(ms));
        case
    }

    fn write(&mut self, duration_ms: u64) -> Result<(), ReportError> {
        let mut report = Report::new(format!("weft run {}", self.run_id));
        self.suite.set_time(Duration::from_millis(duration_ms));
        report.add_test_suite(self.suite.clone());
        report.set_time(Duration::from_millis(duration_ms));
        let written = report
            .to_string()
            .map_err(std::io::Error::other)
            .and_then(|xml| write_atomic(&self.path, xml.as_bytes()));
        written.map_err(|source| ReportError {
            what: format!("cannot write the JUnit report `{}`", self.path.display()),
            source,
        })
    }
}

impl EventWriter for Junit {
    fn write_event(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        match event {
            RunEvent::RunStarted { run_id, .. } => self.run_id = run_id.clone(),
            RunEvent::StepFinished {
                step,
                index,
                status,
                error,
                duration_ms,
                cached,
                saved,
                ..
            } => {
                let name = match index {
                    Some(i) => {
                        self.fanned_out.insert(step.clone());
                        if *status != Status::Succeeded {
                            self.element_failed.insert(step.clone());
                        }
                        format!("{step}[{i}]")
                    }
                    None if self.fanned_out.contains(step) => {
                        let whole =
                            *status == Status::Failed && !self.element_failed.contains(step);
                        if !whole {
                            return Ok(());
                        }
                        step.clone()
                    }
                    None => step.clone(),
                };
                let mut case = self.case(name, *status, error.as_deref(), *duration_ms);
                if *cached {
                    let saved = saved.map_or(0, |u| u.total_tokens);
                    case.set_system_out(format!(
                        "served from the result cache: {saved} tokens saved"
                    ));
                }
                self.suite.add_test_case(case);
            }
            RunEvent::RunFinished { duration_ms, .. } => return self.write(*duration_ms),
            _ => {}
        }
        Ok(())
    }
}
