//! Progress bars for the long runs (`forecast`, `nab`, `simulate`), on stderr.
//!
//! They are drawn only when stderr is a terminal (and `TERM` is not `dumb`):
//! `ProgressDrawTarget::stderr()` hides itself otherwise, so CI logs and piped or redirected
//! output are byte for byte what they were without bars.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` steps labelled `what` (`"mstl: series"`), on stderr when it is a terminal.
pub(crate) fn bar(len: usize, what: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed}, about {eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.into());
    bar
}

/// A spinner labelled `what` for a step whose length is unknown (training a global model), on
/// stderr when it is a terminal.
pub(crate) fn spinner(what: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(what.into());
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_millis(120));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_hidden_when_stderr_is_not_a_terminal() {
        // Under `cargo test` stderr is captured or piped, never a terminal here in CI.
        if !console_is_terminal() {
            assert!(bar(10, "x").is_hidden());
            assert!(spinner("x").is_hidden());
        }
    }

    fn console_is_terminal() -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    }
}
