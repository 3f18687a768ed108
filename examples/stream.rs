//! Stream one turn: print the agent's text as it arrives, commands' output, and the usage.
//!
//! ```sh
//! CODEX_BIN=$(scripts/codex-cli) cargo run --example stream -- "Explain JSON-RPC briefly."
//! ```

use std::io::Write;

use weft::client::{Client, ClientConfig, ThreadOptions, TurnEvent, TurnOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Explain JSON-RPC briefly.".into());
    let client = Client::spawn(ClientConfig::default()).await?;
    let thread = client.thread_start(ThreadOptions::default()).await?;
    let mut turn = thread.turn(prompt, TurnOptions::default()).await?;
    let mut stdout = std::io::stdout();
    while let Some(event) = turn.next_event().await {
        match event {
            TurnEvent::AgentMessageDelta { delta, .. } => {
                write!(stdout, "{delta}")?;
                stdout.flush()?;
            }
            TurnEvent::CommandOutputDelta { delta, .. } => eprint!("{delta}"),
            TurnEvent::TokenUsage(usage) => {
                eprintln!("\n[tokens so far: {}]", usage.total.total_tokens)
            }
            TurnEvent::Completed(result) => {
                eprintln!("\n[{:?} in {:?}]", result.status, result.duration)
            }
            _ => {}
        }
    }
    println!();
    turn.wait().await?;
    client.close().await?;
    Ok(())
}
