//! How the CLI finds a running daemon: `$VIVA_HOME/serve.json` (`{port, token, pid}`, mode
//! 0600), written when `viva serve` starts and removed when it stops. A file left by a daemon
//! that died is detected by its dead pid and replaced, never trusted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The API version; a client refuses a daemon that speaks another.
pub const PROTOCOL: u32 = 1;
const FILE: &str = "serve.json";

/// What `serve.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeInfo {
    pub port: u16,
    pub token: String,
    pub pid: u32,
}

impl ServeInfo {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The review page's way in: the token once in the address, a cookie from then on.
    pub fn page_url(&self) -> String {
        format!("{}/auth?token={}", self.base_url(), self.token)
    }
}

pub fn path(home: &Path) -> PathBuf {
    home.join(FILE)
}

/// A fresh random token: 32 bytes from the operating system, hex-encoded.
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a process with this pid is alive and is a viva (a dead daemon's pid may be reused).
pub fn is_live_viva(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self").exists() {
        return std::fs::read_to_string(proc_dir.join("comm"))
            .is_ok_and(|comm| comm.trim().starts_with("viva"));
    }
    // Without /proc, ask `kill -0`, which signals nothing and only checks.
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The daemon `serve.json` names, if it is alive. A stale file is removed.
pub fn find(home: &Path) -> Option<ServeInfo> {
    let file = path(home);
    let text = std::fs::read_to_string(&file).ok()?;
    let Ok(info) = serde_json::from_str::<ServeInfo>(&text) else {
        let _ = std::fs::remove_file(&file);
        return None;
    };
    if is_live_viva(info.pid) {
        Some(info)
    } else {
        let _ = std::fs::remove_file(&file);
        None
    }
}

/// Writes `serve.json` readable by its owner only, all at once (temp file, then rename).
/// Refuses when another live daemon already owns this VIVA_HOME.
pub fn publish(home: &Path, info: &ServeInfo) -> Result<()> {
    if let Some(other) = find(home) {
        if other.pid != info.pid {
            bail!(
                "viva serve is already running for {} (pid {}, port {}); stop it first",
                home.display(),
                other.pid,
                other.port
            );
        }
    }
    let file = path(home);
    let tmp = home.join(format!(".{FILE}.{}", info.pid));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(&tmp)
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    out.write_all(serde_json::to_string(info)?.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&tmp, &file).with_context(|| format!("{}: cannot write", file.display()))?;
    Ok(())
}

/// Removes `serve.json` if it is still this daemon's.
pub fn withdraw(home: &Path, pid: u32) {
    let file = path(home);
    let ours = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| serde_json::from_str::<ServeInfo>(&t).ok())
        .is_some_and(|info| info.pid == pid);
    if ours {
        let _ = std::fs::remove_file(file);
    }
}

/// The CLI's side: a daemon found through `serve.json`.
pub struct Client {
    pub info: ServeInfo,
    agent: ureq::Agent,
}

impl Client {
    /// Connects to the daemon `serve.json` names, checking it answers and speaks our protocol.
    pub fn connect(home: &Path) -> Result<Option<Client>> {
        let Some(info) = find(home) else {
            return Ok(None);
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(600)))
            .http_status_as_error(false)
            .build()
            .into();
        let client = Client { info, agent };
        let health: serde_json::Value = match client.get_json("/api/health") {
            Ok(health) => health,
            Err(e) => bail!(
                "failed to connect to the local daemon at {} ({e:#}); is it running? Remove {} if it is not",
                client.info.base_url(),
                path(home).display()
            ),
        };
        let protocol = health["protocol"].as_u64().unwrap_or(0);
        if protocol != PROTOCOL as u64 {
            bail!(
                "the daemon at {} speaks protocol {protocol}, this viva speaks {PROTOCOL}; restart `viva serve` with this version",
                client.info.base_url()
            );
        }
        Ok(Some(client))
    }

    fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let response = self
            .agent
            .get(format!("{}{path}", self.info.base_url()))
            .header("Authorization", &format!("Bearer {}", self.info.token))
            .call()?;
        json_or_error(response)
    }

    /// Scores a WAV file on the daemon, whose model is already loaded.
    pub fn score(
        &self,
        wav: &[u8],
        prompt: &str,
        transcript: Option<&str>,
    ) -> Result<serde_json::Value> {
        let mut url = format!(
            "{}/api/score?prompt={}",
            self.info.base_url(),
            encode(prompt)
        );
        if let Some(text) = transcript {
            url.push_str(&format!("&transcript={}", encode(text)));
        }
        let response = self
            .agent
            .post(url)
            .header("Authorization", &format!("Bearer {}", self.info.token))
            .header("Content-Type", "audio/wav")
            .send(wav)?;
        json_or_error(response)
    }

    fn post_json(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
        let response = self
            .agent
            .post(format!("{}{path}", self.info.base_url()))
            .header("Authorization", &format!("Bearer {}", self.info.token))
            .header("Content-Type", "application/json")
            .send(body.to_string())?;
        json_or_error(response)
    }

    /// A one-time address that signs a browser in to the review page (good once, for a
    /// minute), so the token itself never goes on a browser's command line.
    pub fn sign_in_link(&self) -> Result<String> {
        let link = self.post_json("/api/sign-in-links", &serde_json::json!({}))?;
        link["url"].as_str().map(str::to_owned).ok_or_else(|| {
            anyhow::anyhow!(
                "the daemon sent no sign-in address; restart `viva serve` with this version"
            )
        })
    }

    /// Starts a round on the daemon (`{"playlist": ID}` or `{"prompt": ID}`, plus options).
    pub fn start_round(&self, start: &serde_json::Value) -> Result<()> {
        self.post_json("/api/rounds", start).map(drop)
    }

    /// Subscribes to the round's events: (name, data) pairs until the stream ends. Subscribe
    /// before starting the round, so no event is missed.
    pub fn events(&self) -> Result<impl Iterator<Item = (String, serde_json::Value)>> {
        use std::io::BufRead;
        // No overall timeout: a drill lasts as long as it lasts.
        let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
        let response = agent
            .get(format!(
                "{}/api/rounds/current/events",
                self.info.base_url()
            ))
            .header("Authorization", &format!("Bearer {}", self.info.token))
            .call()?;
        let lines = std::io::BufReader::new(response.into_body().into_reader()).lines();
        let mut name = String::new();
        Ok(lines.map_while(Result::ok).filter_map(move |line| {
            if let Some(event) = line.strip_prefix("event:") {
                name = event.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:") {
                let value = serde_json::from_str(data.trim()).ok()?;
                return Some((std::mem::take(&mut name), value));
            }
            None
        }))
    }

    /// Sends what the candidate types to the round: Enter next, r repeat, d redo, s skip, q stop.
    pub fn forward_controls(&self) {
        let client = Client {
            info: self.info.clone(),
            agent: self.agent.clone(),
        };
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                let action = match line.trim() {
                    "r" => "repeat",
                    "d" => "redo",
                    "s" => "skip",
                    "q" => "stop",
                    _ => "next",
                };
                if client
                    .post_json(
                        &format!("/api/rounds/current/{action}"),
                        &serde_json::json!({}),
                    )
                    .is_err()
                {
                    break;
                }
            }
        });
    }
}

/// The JSON body of a reply, or the daemon's `{"error": ...}` message as an error.
fn json_or_error(mut response: ureq::http::Response<ureq::Body>) -> Result<serde_json::Value> {
    let status = response.status().as_u16();
    let body: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
    if status >= 400 {
        bail!(
            "{}",
            body["error"]
                .as_str()
                .unwrap_or("the daemon refused the request")
        );
    }
    Ok(body)
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_json_is_owner_only_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let info = ServeInfo {
            port: 4321,
            token: new_token().unwrap(),
            pid: std::process::id(),
        };
        publish(dir.path(), &info).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(find(dir.path()), Some(info.clone()));
        withdraw(dir.path(), info.pid);
        assert!(!path(dir.path()).exists());
    }

    #[test]
    fn a_stale_file_from_a_dead_daemon_is_removed_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let stale = ServeInfo {
            port: 1,
            token: "t".into(),
            pid: i32::MAX as u32,
        };
        std::fs::write(path(dir.path()), serde_json::to_string(&stale).unwrap()).unwrap();
        assert_eq!(find(dir.path()), None);
        assert!(!path(dir.path()).exists());
    }

    #[test]
    fn tokens_are_long_and_differ() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("a b/c?"), "a%20b%2Fc%3F");
    }
}
