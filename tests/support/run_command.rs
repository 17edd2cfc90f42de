//! Running a set-up command of the tests' peers (a venv, `pip install`), shared by the
//! rotel installer here and the llama-stack-client installer in `cli/tests/support/`.

use std::process::{Command, Stdio};

/// Run `cmd` to its end, stdin closed; an error names the command and carries its output.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
