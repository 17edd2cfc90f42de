//! Methods: `&self`, `&mut self`, `self`, `self: Box<Self>`, associated functions,
//! trait impl methods and trait default methods; argument expressions using `self`.
#![deny(warnings)]

use llm_telemetry::{
    instrument_agent_turn, instrument_inference, instrument_tool, TokenUsage, Usage,
};

#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
}

impl TokenUsage for Reply {
    fn token_usage(&self) -> Option<Usage> {
        Some(Usage::new(1, self.text.len() as u64))
    }
}

pub struct Agent {
    name: String,
    model: String,
    history: Vec<String>,
}

impl Agent {
    #[instrument_inference(model = self.model, provider = "local")]
    pub fn infer(&self, prompt: &str) -> Reply {
        Reply {
            text: format!("{}: {prompt}", self.name),
        }
    }

    #[instrument_agent_turn(agent = self.name, session = session)]
    pub fn turn(&mut self, session: &str, input: &str) -> Result<&str, String> {
        self.history.push(input.to_owned());
        let reply = self.infer(input);
        self.history.push(reply.text);
        self.history
            .last()
            .map(String::as_str)
            .ok_or_else(|| session.to_owned())
    }

    // Returns a reborrow of `&mut self`.
    #[instrument_tool]
    fn history_mut(&mut self) -> &mut Vec<String> {
        &mut self.history
    }

    // Consumes `self`.
    #[instrument_agent_turn(agent = self.name)]
    fn into_history(self) -> Vec<String> {
        self.history
    }

    #[instrument_tool(tool = self.name)]
    fn boxed(self: Box<Self>) -> usize {
        self.history.len()
    }

    // An associated function, with `Self` in the signature.
    #[instrument_tool(tool = "new_agent")]
    fn new(name: &str) -> Self {
        Agent {
            name: name.to_owned(),
            model: "m".to_owned(),
            history: Vec::new(),
        }
    }
}

pub trait Tool {
    fn name(&self) -> &str;
    fn call(&self, input: &str) -> Result<String, std::fmt::Error>;

    // A default method.
    #[instrument_tool(tool = self.name())]
    fn call_twice(&self, input: &str) -> Result<String, std::fmt::Error> {
        let once = self.call(input)?;
        self.call(&once)
    }
}

pub struct Echo;

impl Tool for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    #[instrument_tool(tool = self.name(), call_id = "call-1")]
    fn call(&self, input: &str) -> Result<String, std::fmt::Error> {
        Ok(input.to_owned())
    }
}

// A generic impl with a where clause.
pub struct Router<T> {
    routes: Vec<T>,
}

impl<T> Router<T>
where
    T: Clone + PartialEq,
{
    #[instrument_tool]
    pub fn find<Q>(&self, query: Q) -> Option<T>
    where
        Q: Into<T>,
    {
        let query = query.into();
        self.routes.iter().find(|r| **r == query).cloned()
    }
}

fn main() {
    let mut agent = Agent::new("a");
    let _ = agent.turn("s", "hi").map(str::len);
    agent.history_mut().clear();
    let _ = Box::new(Agent::new("b")).boxed();
    let _ = agent.into_history();
    let _ = Echo.call_twice("x");
    let _ = Router { routes: vec![1u8] }.find(1u8);
}
