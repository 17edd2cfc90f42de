//! `cargo run --example agent`: an agent with two tools, a guardrail, a retrieval and a
//! streamed answer on a deterministic local model,
//! instrumented with llm-telemetry, writing to the console and the SQLite store.

mod agent;

use agent::{Agent, SESSIONS};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = match llm_telemetry::init() {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let store = telemetry.sqlite_path().map(|p| p.to_path_buf());

    for (session, user, inputs) in SESSIONS {
        let agent = Agent::new("weather-assistant", "local-rules-1").for_user(user);
        for input in inputs.iter() {
            let answer = agent.turn(session, input).await?;
            println!("[{session}] > {input}\n[{session}] < {answer}");
        }
    }

    let stats_before = telemetry.stats();
    drop(telemetry); // flushes every sink: nothing queued is lost
    for s in &stats_before.sinks {
        if s.dropped > 0 {
            eprintln!("{} sink dropped {} items", s.name, s.dropped);
        }
    }
    match store {
        Some(path) => {
            let path = path.display();
            println!("\nTraces stored in {path}");
            println!("Browse them:\n  cargo run -p llm-telemetry-cli -- --db {path} list");
            println!(
                "Its conversations:\n  cargo run -p llm-telemetry-cli -- --db {path} sessions"
            );
            println!("Or query them with SQL:\n  sqlite3 {path} \"SELECT name, COUNT(*), ROUND(AVG(duration_ms), 2) AS avg_ms FROM spans GROUP BY name ORDER BY avg_ms DESC\"");
        }
        None => println!("\nThe sqlite sink is off (TELEMETRY_SINKS); nothing was stored."),
    }
    Ok(())
}
