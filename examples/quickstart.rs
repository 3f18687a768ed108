//! Quickstart, after the Python SDK's: start the app-server, start a thread, run one turn,
//! print the final response.
//!
//! ```sh
//! CODEX_BIN=$(scripts/codex-cli) cargo run --example quickstart -- "Say hello in one sentence."
//! ```

use weft::client::{Client, ClientConfig, ThreadOptions, TurnOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Say hello in one sentence.".into());
    let client = Client::spawn(ClientConfig::default()).await?;
    eprintln!(
        "app-server {} (pid {:?})",
        client.server_version(),
        client.pid()
    );
    let thread = client.thread_start(ThreadOptions::default()).await?;
    let result = thread.run(prompt, TurnOptions::default()).await?;
    println!("{}", result.final_response.unwrap_or_default());
    client.close().await?;
    Ok(())
}
