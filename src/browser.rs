//! Opening an address in the person's browser: each command in `$BROWSER` (a `:`-separated
//! list, `%s` standing for the address), then the system's opener (`xdg-open`, `open`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an opener may take to say it failed. One still running by then is taken to be
/// the browser itself, which stays in the foreground until it closes.
const OPENER_VERDICT: Duration = Duration::from_secs(3);

/// What became of the attempt to open an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// This command took the address.
    By(String),
    /// No command could: these were tried, in order.
    NoBrowser { tried: Vec<String> },
}

/// Opens `url` with the first command that takes it.
pub fn open(url: &str) -> Opened {
    let from_env = std::env::var("BROWSER").unwrap_or_default();
    let mut tried = Vec::new();
    for command in browser_commands(&from_env) {
        if run_opener(&command, url) {
            return Opened::By(command);
        }
        tried.push(command);
    }
    Opened::NoBrowser { tried }
}

/// `$BROWSER`'s commands, then the system's opener.
fn browser_commands(from_env: &str) -> Vec<String> {
    let system = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    from_env
        .split(':')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .chain([system])
        .map(str::to_owned)
        .collect()
}

/// The program and arguments of `command` given `url`: `%s` is replaced by it (`%%` is a
/// `%`), or it is appended when the command has no `%s`.
fn command_line(command: &str, url: &str) -> Vec<String> {
    let mut args: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    let mut placed = false;
    for arg in &mut args {
        if arg.contains("%s") {
            *arg = arg.replace("%s", url);
            placed = true;
        }
        *arg = arg.replace("%%", "%");
    }
    if !placed {
        args.push(url.to_owned());
    }
    args
}

/// Runs one opener; true when it took the address (exited successfully, or is still running).
fn run_opener(command: &str, url: &str) -> bool {
    let line = command_line(command, url);
    let Some((program, args)) = line.split_first() else {
        return false;
    };
    let Ok(mut child) = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + OPENER_VERDICT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            // A browser in the foreground: leave it running.
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_commands_come_before_the_system_opener() {
        let commands = browser_commands("firefox -new-tab:  :chromium");
        assert_eq!(commands[..2], ["firefox -new-tab", "chromium"]);
        assert_eq!(commands.len(), 3);
        assert_eq!(browser_commands("").len(), 1);
    }

    #[test]
    fn the_address_replaces_percent_s_or_is_appended() {
        let url = "http://127.0.0.1:1/auth?token=ab";
        assert_eq!(command_line("firefox", url), ["firefox", url]);
        assert_eq!(
            command_line("b --url=%s --pct=100%%", url),
            ["b", &format!("--url={url}"), "--pct=100%"]
        );
    }

    #[test]
    fn a_missing_or_failing_opener_does_not_take_the_address() {
        assert!(!run_opener("/nonexistent/viva-browser", "http://x"));
        assert!(!run_opener("false", "http://x"));
        assert!(run_opener("true", "http://x"));
    }
}
