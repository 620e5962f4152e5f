use std::io::Read;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use prescient_core::{Decision, Timestamp};

use crate::{ActuateError, Actuator, Applied, PoolStatus};

/// How much of a program's standard error a [`ActuateError::Failed`] carries.
const STDERR_TAIL: usize = 500;
/// How much of a program's standard output is kept: a status needs a line, and a chatty program
/// must not grow the host's memory.
const STDOUT_KEEP: usize = 64 * 1024;
/// How much of a program's output a [`ActuateError::Parse`] quotes, in characters.
const PARSE_QUOTE: usize = 100;

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    program: String,
    args: Vec<String>,
}

/// An actuator that runs a program to scale, for platforms with a command-line tool:
/// `kubectl scale deployment/web --replicas={target}`.
///
/// The arguments are passed to the program directly, never through a shell, so a placeholder's
/// value cannot inject a command. In the arguments of the scale command, `{target}` is replaced
/// by the decision's target and `{current}` by the count it started from; nothing else is
/// interpreted.
///
/// [`Actuator::status`] runs the status command, if one is set, whose standard output must be
/// one integer (the desired count; ready is then taken to be the same) or two (desired and
/// ready), separated by white space. Without a status command it reports the last target a
/// scale command applied successfully (at first the [`Command::initial`] count) as desired and
/// ready.
///
/// Each run has a time limit (30 s unless [`Command::timeout`] says otherwise); a program that
/// exceeds it is killed and reaped. Only the program itself is killed: a program that starts
/// others (a shell script) should `exec` the last one, or their output pipes stay open until
/// they end.
///
/// `Command` blocks while the program runs; in an async host wrap it in
/// [`Blocking`](crate::Blocking) or call it in `tokio::task::spawn_blocking`.
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use prescient_actuate::{Actuator, Command};
///
/// let mut kubectl = Command::new("kubectl", ["scale", "deployment/web", "--replicas={target}"])
///     .status_command(
///         "kubectl",
///         ["get", "deployment/web", "-o", "jsonpath={.spec.replicas} {.status.readyReplicas}"],
///     )
///     .timeout(Duration::from_secs(20))
///     .env("KUBECONFIG", "/etc/prescient/kubeconfig");
/// let status = kubectl.status(prescient_core::Timestamp::from_secs(0))?;
/// # Ok::<(), prescient_actuate::ActuateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    name: String,
    scale: Invocation,
    status: Option<Invocation>,
    timeout: Duration,
    env: Vec<(String, String)>,
    last_applied: u32,
}

impl Command {
    /// The time limit of one run unless [`Command::timeout`] says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// An actuator that scales by running `program` with `args`, in which `{target}` and
    /// `{current}` are replaced by the decision's counts.
    pub fn new<I, S>(program: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let program = program.into();
        Command {
            name: program.clone(),
            scale: Invocation {
                program,
                args: args.into_iter().map(Into::into).collect(),
            },
            status: None,
            timeout: Command::DEFAULT_TIMEOUT,
            env: Vec::new(),
            last_applied: 0,
        }
    }

    /// Reads the status by running `program` with `args` (passed as they are), whose standard
    /// output must be one or two integers: desired, then optionally ready.
    pub fn status_command<I, S>(mut self, program: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.status = Some(Invocation {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The time limit of each run (a zero limit fails every run).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets an environment variable for the programs (on top of the host's environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The count the status reports, without a status command, until a scale succeeds
    /// (0 unless set).
    pub fn initial(mut self, workers: u32) -> Self {
        self.last_applied = workers;
        self
    }

    /// The name used in logs and errors (the program's name unless set).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The last target a scale command applied successfully, or the initial count.
    pub fn last_applied(&self) -> u32 {
        self.last_applied
    }

    /// The time limit of each run.
    pub fn time_limit(&self) -> Duration {
        self.timeout
    }

    /// The scale command's arguments for `decision`.
    fn scale_args(&self, decision: &Decision) -> Vec<String> {
        let target = decision.target.to_string();
        let current = decision.current.to_string();
        self.scale
            .args
            .iter()
            .map(|a| {
                a.replace("{target}", &target)
                    .replace("{current}", &current)
            })
            .collect()
    }

    /// Runs `program` with `args` and returns its standard output if it succeeded.
    ///
    /// The clock is read here, and only here, because a time limit on a real process cannot be
    /// kept without it; the decisions themselves still take time as an argument.
    #[allow(clippy::disallowed_methods)]
    fn run(&self, program: &str, args: &[String]) -> Result<Vec<u8>, ActuateError> {
        let deadline = Instant::now() + self.timeout;
        let mut child = std::process::Command::new(program)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ActuateError::Spawn {
                program: program.to_owned(),
                source,
            })?;
        let output = drain(&mut child);
        let timeout = || ActuateError::Timeout {
            what: format!("`{program}`"),
            after: self.timeout,
        };

        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    kill(&mut child);
                    return Err(ActuateError::Io(e));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                kill(&mut child);
                return Err(timeout());
            }
            // Polling is the only portable way to wait with a limit in std; 10 ms keeps the
            // delay small next to a program's own run time and the cost negligible.
            thread::sleep((deadline - now).min(Duration::from_millis(10)));
        };

        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        for _ in 0..2 {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match output.recv_timeout(remaining) {
                Ok(Pipe::Stdout(b)) => stdout = b,
                Ok(Pipe::Stderr(b)) => stderr = b,
                // The program ended but something it started still holds its output open.
                Err(_) => return Err(timeout()),
            }
        }
        check(program, status, &stderr)?;
        Ok(stdout)
    }
}

/// The output of one pipe, read to its end.
enum Pipe {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

/// Reads the child's output on two threads, so that a program filling one pipe never blocks
/// while this thread waits for it; each thread sends its pipe's output when the pipe closes.
fn drain(child: &mut Child) -> mpsc::Receiver<Pipe> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        thread::spawn(move || {
            let _ = tx.send(Pipe::Stdout(read_tail(out, STDOUT_KEEP)));
        });
    } else {
        let _ = tx.send(Pipe::Stdout(Vec::new()));
    }
    if let Some(err) = child.stderr.take() {
        thread::spawn(move || {
            let _ = tx.send(Pipe::Stderr(read_tail(err, STDERR_TAIL)));
        });
    } else {
        let _ = tx.send(Pipe::Stderr(Vec::new()));
    }
    rx
}

/// Reads `r` to its end, keeping the last `keep` bytes.
fn read_tail(mut r: impl Read, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * keep {
                    kept.drain(..kept.len() - keep);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if kept.len() > keep {
        kept.drain(..kept.len() - keep);
    }
    kept
}

/// Kills the child and reaps it, so that no zombie is left behind.
fn kill(child: &mut Child) {
    // Killing fails only if the child has already ended; waiting reaps it either way.
    let _ = child.kill();
    let _ = child.wait();
}

/// `Ok` if the program succeeded, else [`ActuateError::Failed`] with the end of its stderr.
fn check(program: &str, status: ExitStatus, stderr: &[u8]) -> Result<(), ActuateError> {
    if status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(stderr);
    Err(ActuateError::Failed {
        what: format!("`{program}`"),
        status: Some(status),
        reason: text.trim().to_owned(),
    })
}

/// Parses a status command's output: `desired` or `desired ready`.
fn parse_status(program: &str, stdout: &[u8]) -> Result<PoolStatus, ActuateError> {
    let text = String::from_utf8_lossy(stdout);
    let text = text.trim();
    let err = |reason: String| ActuateError::Parse {
        what: format!("`{program}`"),
        input: text.chars().take(PARSE_QUOTE).collect(),
        reason,
    };
    let mut fields = text.split_whitespace();
    let mut next = |what: &str| -> Result<Option<u32>, ActuateError> {
        fields
            .next()
            .map(|f| {
                f.parse::<u32>()
                    .map_err(|e| err(format!("expected the {what} count as an integer: {e}")))
            })
            .transpose()
    };
    let Some(desired) = next("desired")? else {
        return Err(err("expected the desired count, got nothing".into()));
    };
    let ready = next("ready")?.unwrap_or(desired);
    if fields.next().is_some() {
        return Err(err("expected one or two integers".into()));
    }
    Ok(PoolStatus { desired, ready })
}

impl Actuator for Command {
    fn name(&self) -> &str {
        &self.name
    }

    fn status(&mut self, _now: Timestamp) -> Result<PoolStatus, ActuateError> {
        match &self.status {
            Some(inv) => {
                let out = self.run(&inv.program, &inv.args)?;
                parse_status(&inv.program, &out)
            }
            None => Ok(PoolStatus::settled(self.last_applied)),
        }
    }

    fn scale(&mut self, _now: Timestamp, decision: &Decision) -> Result<Applied, ActuateError> {
        let args = self.scale_args(decision);
        self.run(&self.scale.program, &args)?;
        self.last_applied = decision.target;
        Ok(Applied {
            target: decision.target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::decision;

    const T: Timestamp = Timestamp::EPOCH;

    #[test]
    fn placeholders_are_substituted_in_each_argument() {
        let c = Command::new(
            "kubectl",
            ["--replicas={target}", "{current}->{target}", "{x}"],
        );
        assert_eq!(
            c.scale_args(&decision(0, 2, 5)),
            ["--replicas=5", "2->5", "{x}"]
        );
    }

    #[test]
    fn success_updates_the_last_applied_target() {
        let mut c = Command::new("true", ["{target}"]).initial(3);
        assert_eq!(c.status(T).unwrap(), PoolStatus::settled(3));
        assert_eq!(c.scale(T, &decision(0, 3, 8)).unwrap().target, 8);
        assert_eq!(c.last_applied(), 8);
        assert_eq!(c.status(T).unwrap(), PoolStatus::settled(8));
        assert_eq!(c.name(), "true");
    }

    #[test]
    fn arguments_reach_the_program_without_a_shell() {
        // The argument is the script; `$0` is the next argument. A target that looked like
        // shell code would still arrive as one literal argument.
        let mut c = Command::new(
            "sh",
            [
                "-c",
                "test \"$0\" = '5;echo hacked' && test \"$FOO\" = bar",
                "{target};echo hacked",
            ],
        )
        .env("FOO", "bar");
        assert!(c.scale(T, &decision(0, 1, 5)).is_ok());
    }

    #[test]
    fn non_zero_exit_is_failed_with_status_and_stderr() {
        let mut c = Command::new("false", Vec::<String>::new()).initial(2);
        let e = c.scale(T, &decision(0, 2, 4)).unwrap_err();
        match &e {
            ActuateError::Failed { what, status, .. } => {
                assert_eq!(what, "`false`");
                assert_eq!(status.and_then(|s| s.code()), Some(1));
            }
            other => panic!("unexpected {other}"),
        }
        // A failed scale does not move the reported count.
        assert_eq!(c.status(T).unwrap(), PoolStatus::settled(2));

        let mut c = Command::new("sh", ["-c", "echo 'no such deployment' >&2; exit 3"]);
        let e = c.scale(T, &decision(0, 2, 4)).unwrap_err();
        match &e {
            ActuateError::Failed { status, reason, .. } => {
                assert_eq!(status.and_then(|s| s.code()), Some(3));
                assert_eq!(reason, "no such deployment");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(e.to_string().contains("no such deployment"), "{e}");
        assert!(e.to_string().contains('3'), "{e}");
    }

    #[test]
    fn stderr_is_cut_to_its_last_bytes() {
        let mut c = Command::new(
            "sh",
            [
                "-c",
                "i=0; while [ $i -lt 2000 ]; do printf x >&2; i=$((i+1)); done; printf END >&2; exit 1",
            ],
        );
        match c.scale(T, &decision(0, 0, 1)).unwrap_err() {
            ActuateError::Failed { reason, .. } => {
                assert_eq!(reason.len(), STDERR_TAIL);
                assert!(reason.ends_with("xEND"), "{reason}");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn a_slow_program_is_killed_at_the_time_limit() {
        let mut c = Command::new("sleep", ["5"]).timeout(Duration::from_millis(200));
        let e = c.scale(T, &decision(0, 1, 2)).unwrap_err();
        assert!(
            matches!(&e, ActuateError::Timeout { after, .. } if *after == Duration::from_millis(200)),
            "{e}"
        );
        assert_eq!(c.last_applied(), 0);
    }

    #[test]
    fn a_missing_program_is_a_spawn_error_naming_it() {
        let mut c = Command::new("prescient-no-such-program", ["{target}"]);
        let e = c.scale(T, &decision(0, 1, 2)).unwrap_err();
        assert!(
            matches!(&e, ActuateError::Spawn { program, .. } if program == "prescient-no-such-program"),
            "{e}"
        );
        assert!(e.to_string().contains("prescient-no-such-program"), "{e}");
    }

    #[test]
    fn status_command_output_is_parsed() {
        let mut c =
            Command::new("true", Vec::<String>::new()).status_command("sh", ["-c", "echo 7"]);
        assert_eq!(c.status(T).unwrap(), PoolStatus::settled(7));
        let mut c =
            Command::new("true", Vec::<String>::new()).status_command("sh", ["-c", "echo ' 7 5 '"]);
        assert_eq!(
            c.status(T).unwrap(),
            PoolStatus {
                desired: 7,
                ready: 5
            }
        );
    }

    #[test]
    fn status_command_garbage_is_a_parse_error() {
        for out in ["seven", "", "7 5 3", "-1", "7 x"] {
            let mut c = Command::new("true", Vec::<String>::new())
                .status_command("sh", ["-c", &format!("echo '{out}'")]);
            let e = c.status(T).unwrap_err();
            assert!(matches!(e, ActuateError::Parse { .. }), "{out:?}: {e}");
        }
    }

    #[test]
    fn status_command_failure_is_failed() {
        let mut c = Command::new("true", Vec::<String>::new())
            .status_command("false", Vec::<String>::new());
        assert!(matches!(
            c.status(T).unwrap_err(),
            ActuateError::Failed { .. }
        ));
    }

    #[test]
    fn large_output_on_both_pipes_does_not_deadlock() {
        // Far more than a pipe buffer on each stream, written interleaved.
        let c = Command::new(
            "sh",
            [
                "-c",
                "i=0; while [ $i -lt 3000 ]; do echo 0123456789012345678901234567890123456789; \
                 echo 0123456789012345678901234567890123456789 >&2; i=$((i+1)); done; echo 4",
            ],
        );
        let out = c.run("sh", &c.scale.args.clone()).unwrap();
        assert!(out.len() <= STDOUT_KEEP);
        assert!(out.ends_with(b"\n4\n"));
    }

    #[test]
    fn named_overrides_the_name() {
        let c = Command::new("kubectl", ["scale"]).named("k8s-web");
        assert_eq!(Actuator::name(&c), "k8s-web");
        assert_eq!(c.time_limit(), Command::DEFAULT_TIMEOUT);
    }
}
