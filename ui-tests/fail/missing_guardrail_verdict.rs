use llm_telemetry::instrument_guardrail;

pub struct ShieldResponse {
    pub blocked: bool,
}

// The return type must say whether it is a violation: the error is at that type.
#[instrument_guardrail(shield = "llama-guard")]
fn run_shield(message: &str) -> Result<ShieldResponse, std::io::Error> {
    Ok(ShieldResponse {
        blocked: message.is_empty(),
    })
}

#[instrument_guardrail(shield = "llama-guard")]
async fn run_shield_async(message: &str) -> bool {
    message.is_empty()
}

fn main() {
    let _ = run_shield("m");
    let _ = run_shield_async("m");
}
