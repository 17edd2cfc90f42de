use llm_telemetry::instrument_inference;

pub struct Reply {
    pub text: String,
}

#[instrument_inference(model = "llama3.2:3b")]
fn chat(prompt: &str) -> Result<Reply, std::io::Error> {
    Ok(Reply {
        text: prompt.to_owned(),
    })
}

#[instrument_inference(model = "llama3.2:3b")]
async fn chat_async(prompt: &str) -> Reply {
    Reply {
        text: prompt.to_owned(),
    }
}

#[instrument_inference(model = "llama3.2:3b")]
fn fire_and_forget(prompt: &str) {
    let _ = prompt;
}

fn main() {
    let _ = chat("hi");
    let _ = chat_async("hi");
    fire_and_forget("hi");
}
