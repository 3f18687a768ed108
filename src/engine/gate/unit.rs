//! [`GateUnit`]: a gate step (or one element of it): its question rendered, then the
//! answer given before the run, or the gatekeeper's, or none (the gate waits). An approval
//! succeeds with the reply; a rejection fails the gate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::keeper::{GateQuestion, Gatekeeper, check_reply};
use crate::engine::agent::StopReason;
use crate::engine::event::Status;
use crate::engine::output::OutputSchema;
use crate::engine::spec::GateAnswer;
use crate::engine::unit::{
    Unit, UnitFuture, UnitKey, UnitLink, UnitMsg, UnitResult, describe_stop_as,
};

/// A gate ready to be answered.
pub(in crate::engine) struct GateUnit {
    pub key: UnitKey,
    pub step: String,
    pub question: String,
    pub schema: Option<Arc<OutputSchema>>,
    /// How long to wait for the gatekeeper.
    pub timeout: Option<Duration>,
    /// The answer given before the run, if any.
    pub answer: Option<GateAnswer>,
    pub keeper: Arc<dyn Gatekeeper>,
}

impl Unit for GateUnit {
    fn run(self: Box<Self>, link: UnitLink) -> UnitFuture {
        Box::pin(self.run_to_end(link))
    }
}

impl GateUnit {
    async fn run_to_end(self, link: UnitLink) -> UnitResult {
        let started = Instant::now();
        let mut result = UnitResult::new(self.key);
        result.attempts = 1;
        link.sender.send(UnitMsg::Started {
            thread_id: None,
            attempt: 1,
            prompt: self.question.clone(),
            iteration: None,
        });
        let answer = match self.answer.clone() {
            Some(answer) => Ok(Some(answer)),
            None => self.ask(link.stop.clone()).await,
        };
        match answer {
            Ok(Some(answer)) => self.judge(&answer, &mut result),
            Ok(None) => {
                link.sender.send(UnitMsg::Waiting {
                    question: self.question.clone(),
                });
                result.status = Status::Waiting;
                result.error = Some("no answer yet".into());
            }
            Err(reason) => {
                if reason == StopReason::Cancelled {
                    result.status = Status::Interrupted;
                }
                result.error = Some(describe_stop_as(&reason, "no answer came"));
            }
        }
        result.duration = started.elapsed();
        result
    }

    /// Asks the gatekeeper, until the timeout or a stop.
    async fn ask(
        &self,
        mut stop: tokio::sync::watch::Receiver<Option<StopReason>>,
    ) -> Result<Option<GateAnswer>, StopReason> {
        let question = GateQuestion {
            step: self.step.clone(),
            index: self.key.index,
            question: self.question.clone(),
            schema: self.schema.clone(),
        };
        let far = Duration::from_secs(86400 * 365);
        let limit = self.timeout.unwrap_or(far);
        tokio::select! {
            answer = self.keeper.ask(question) => Ok(answer),
            _ = tokio::time::sleep(limit) => Err(StopReason::Timeout(limit)),
            reason = stop.wait_for(Option::is_some) => Err(match reason {
                Ok(reason) => reason.clone().unwrap_or(StopReason::Cancelled),
                Err(_) => StopReason::Cancelled,
            }),
        }
    }

    fn judge(&self, answer: &GateAnswer, result: &mut UnitResult) {
        match check_reply(answer, self.schema.as_deref()) {
            Ok(output) if answer.approved => {
                result.status = Status::Succeeded;
                result.output = output;
            }
            Ok(output) => {
                result.output = output;
                result.error = Some(match &answer.reply {
                    Some(reply) => format!("rejected: {reply}"),
                    None => "rejected".into(),
                });
            }
            Err(refused) => {
                result.output = Value::Null;
                result.error = Some(format!("the answer was refused: {refused}"));
            }
        }
    }
}
