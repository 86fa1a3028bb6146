//! `viva prompts ...` end to end through the binary: the built-in bank, banks given with
//! `--prompts` / `VIVA_PROMPTS`, a user bank layered on top, playlists, and every kind of
//! broken bank file reported as `file:line:col: message`.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use serde_json::Value;

/// A small valid prompt file; `ID` is replaced by the caller.
///
/// Line by line: 1 `[[prompt]]`, 2 `id`, 3 `category`, 4 `tags`, 5 `text`, 6 blank,
/// 7 `[prompt.rubric]`, 8 `seconds`, 9 blank, 10 `[[prompt.rubric.concept]]`, 11 `name`,
/// 12 `any`.
const PROMPT: &str = r#"[[prompt]]
id = "ID"
category = "culture"
tags = ["test"]
text = "Tell me about a decision you made alone."

[prompt.rubric]
seconds = [60, 120]

[[prompt.rubric.concept]]
name = "ownership"
any = ["my call", "took ownership"]
"#;

fn prompt_file(id: &str) -> String {
    PROMPT.replace("\"ID\"", &format!("\"{id}\""))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
}

fn has_tag(p: &Value, tag: &str) -> bool {
    arr(&p["tags"]).iter().any(|t| t == tag)
}

fn ids(list: &Value) -> Vec<String> {
    arr(list)
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `viva ARGS` like `Sandbox::viva`, but returned unrun so a test can add to its environment.
fn viva_command(sb: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_viva"));
    cmd.args(args)
        .env("VIVA_HOME", sb.home())
        .env_remove("VIVA_MODEL")
        .env_remove("VIVA_PROMPTS")
        .current_dir(sb.dir.path());
    cmd
}

/// The lines of `text` that start with `prefix`.
fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// Asserts that `output` has exactly one line starting `FILE:LINE:COL: ` that also contains
/// `message`.
fn assert_problem(output: &str, file: &Path, line: usize, col: usize, message: &str) {
    let prefix = format!("{}:{line}:{col}: ", file.display());
    let found = lines_starting(output, &prefix);
    assert_eq!(
        found.len(),
        1,
        "expected one line starting {prefix:?}, got {found:?} in:\n{output}"
    );
    assert!(
        found[0].contains(message),
        "expected {message:?} in {:?}",
        found[0]
    );
}

#[test]
fn the_builtin_bank_lists_netflix_and_general_behavioral_prompts_with_full_rubrics() {
    let sb = Sandbox::new();
    let list = sb.viva_json(&["prompts", "list", "--json"]);
    let prompts = arr(&list);
    let netflix = prompts.iter().filter(|p| has_tag(p, "netflix")).count();
    let behavioral = prompts
        .iter()
        .filter(|p| has_tag(p, "behavioral") && !has_tag(p, "netflix"))
        .count();
    assert!(netflix >= 30, "{netflix} prompts tagged netflix");
    assert!(
        behavioral >= 15,
        "{behavioral} prompts tagged behavioral without netflix"
    );
    for p in prompts {
        for key in ["id", "category", "tags", "text", "rubric"] {
            assert!(p.get(key).is_some(), "{key} missing from {p}");
        }
        assert!(!p["id"].as_str().unwrap().is_empty(), "{p}");
        assert!(!p["text"].as_str().unwrap().trim().is_empty(), "{p}");
        assert!(p["tags"].is_array(), "{p}");
        assert!(p["rubric"]["concepts"].is_array(), "{p}");
    }
    let ids = ids(&list);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate ids in {ids:?}");
    for id in [
        "culture-decision-without-approval",
        "system-design-recommendation-clarify",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
}

#[test]
fn the_prompt_table_has_a_header_and_one_line_per_prompt() {
    let sb = Sandbox::new();
    let ids = ids(&sb.viva_json(&["prompts", "list", "--json"]));
    let table = sb.viva_ok(&["prompts", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["ID", "CATEGORY", "TAGS", "TEXT"], "{table}");
    assert_eq!(lines.len(), ids.len() + 1, "{table}");
    for (line, id) in lines[1..].iter().zip(&ids) {
        assert_eq!(line.split_whitespace().next(), Some(id.as_str()), "{line}");
    }
}

#[test]
fn showing_a_prompt_prints_its_question_and_concepts_and_json_has_the_rubric() {
    let sb = Sandbox::new();
    let id = "culture-decision-without-approval";
    let json = sb.viva_json(&["prompts", "show", id, "--json"]);
    assert_eq!(json["id"], id);
    let text = json["text"].as_str().unwrap();
    assert!(text.starts_with("Tell me about a time"), "{text}");
    let concepts: Vec<&str> = arr(&json["rubric"]["concepts"])
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(concepts.contains(&"ownership"), "{concepts:?}");
    assert!(concepts.len() >= 3, "{concepts:?}");

    let shown = sb.viva_ok(&["prompts", "show", id]);
    // The question may be wrapped across lines; its words must all be there, in order.
    assert!(
        words(&shown).contains(&words(text)),
        "question text missing:\n{shown}"
    );
    for name in concepts {
        assert!(shown.contains(name), "concept {name:?} missing:\n{shown}");
    }
}

#[test]
fn showing_an_unknown_prompt_fails_in_one_line_pointing_at_prompts_list() {
    let sb = Sandbox::new();
    let err = sb.viva_err(&["prompts", "show", "nope"]);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("nope"), "{err}");
    assert!(err.contains("viva prompts list"), "{err}");
}

#[test]
fn checking_the_builtin_bank_succeeds_and_counts_its_prompts() {
    let sb = Sandbox::new();
    let count = arr(&sb.viva_json(&["prompts", "list", "--json"])).len();
    let out = sb.viva_ok(&["prompts", "check"]);
    assert!(
        out.starts_with(&format!("ok: {count} prompts")),
        "expected ok: {count} prompts, got {out}"
    );
}

#[test]
fn a_prompts_dir_replaces_the_builtin_and_user_banks_by_flag_or_env() {
    let sb = Sandbox::new();
    let bank = sb.path("bank");
    write(&bank.join("mine.toml"), &prompt_file("only-mine"));
    // A user bank that --prompts must also ignore.
    write(
        &sb.home().join("prompts/home.toml"),
        &prompt_file("from-home"),
    );
    let bank_arg = bank.to_str().unwrap();

    let list = sb.viva_json(&["--prompts", bank_arg, "prompts", "list", "--json"]);
    assert_eq!(ids(&list), ["only-mine"]);
    assert_eq!(list[0]["category"], "culture");
    assert_eq!(list[0]["text"], "Tell me about a decision you made alone.");

    let out = viva_command(&sb, &["prompts", "list", "--json"])
        .env("VIVA_PROMPTS", &bank)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&list), ["only-mine"]);
}

#[test]
fn a_missing_prompts_dir_is_an_error_naming_it() {
    let sb = Sandbox::new();
    let missing = sb.path("no-such-bank");
    let err = sb.viva_err(&["--prompts", missing.to_str().unwrap(), "prompts", "list"]);
    assert!(
        err.contains(&format!(
            "{}:1:1: no such bank directory",
            missing.display()
        )),
        "{err}"
    );
}

#[test]
fn a_user_bank_adds_prompts_and_replaces_builtin_ones_with_the_same_id() {
    let sb = Sandbox::new();
    let builtin = sb.viva_json(&["prompts", "list", "--json"]);
    let id = "culture-decision-without-approval";
    let before = sb.viva_json(&["prompts", "show", id, "--json"]);
    assert_ne!(before["text"], "Tell me about a decision you made alone.");

    let user = sb.home().join("prompts");
    write(&user.join("extra.toml"), &prompt_file("my-own-question"));
    write(&user.join("override.toml"), &prompt_file(id));

    let list = sb.viva_json(&["prompts", "list", "--json"]);
    let ids = ids(&list);
    assert_eq!(ids.len(), arr(&builtin).len() + 1, "{ids:?}");
    assert!(ids.iter().any(|i| i == "my-own-question"), "{ids:?}");
    assert_eq!(ids.iter().filter(|i| *i == id).count(), 1, "{ids:?}");

    let after = sb.viva_json(&["prompts", "show", id, "--json"]);
    assert_eq!(after["text"], "Tell me about a decision you made alone.");
    assert_eq!(after["category"], "culture");
    assert_eq!(after["tags"], serde_json::json!(["test"]));
}

/// A bank with one problem in each file, and where each problem must be reported.
struct BrokenBank {
    dir: PathBuf,
    /// (file, line, column, part of the message)
    expected: Vec<(PathBuf, usize, usize, String)>,
}

fn broken_bank(sb: &Sandbox) -> BrokenBank {
    let dir = sb.path("broken");
    let mut expected = Vec::new();
    let mut case = |name: &str, text: &str, line: usize, col: usize, message: &str| {
        let path = dir.join(name);
        write(&path, text);
        expected.push((path, line, col, message.to_owned()));
    };

    // A bare word where a string belongs: line 3, after `category = ` (11 characters).
    case(
        "a-syntax.toml",
        &prompt_file("syntax").replace("\"culture\"", "culture"),
        3,
        12,
        "string values must be quoted",
    );

    // The same id in two files: reported at the second one's id string (line 2, column 6),
    // pointing back at the first.
    write(&dir.join("b-dup-first.toml"), &prompt_file("dup"));
    case(
        "b-dup-second.toml",
        &prompt_file("dup"),
        2,
        6,
        &format!(
            "duplicate prompt id `dup` (first defined at {}:2:6)",
            dir.join("b-dup-first.toml").display()
        ),
    );

    // `tag` for `tags`, at the start of line 4.
    case(
        "c-unknown-key.toml",
        &prompt_file("unknown-key").replace("tags = ", "tag = "),
        4,
        1,
        "unknown field `tag`",
    );

    // seconds = [120, 60]: the array starts at column 11 of line 8.
    case(
        "d-inverted.toml",
        &prompt_file("inverted").replace("[60, 120]", "[120, 60]"),
        8,
        11,
        "seconds range [120, 60] is inverted",
    );

    // any = []: the array starts at column 7 of line 12.
    case(
        "e-empty-any.toml",
        &prompt_file("empty-any").replace(r#"["my call", "took ownership"]"#, "[]"),
        12,
        7,
        "concept `ownership` has no phrases",
    );

    // A weights table on a new line 9, after `weights = ` (10 characters).
    let with_weights = |id: &str, weights: &str| {
        prompt_file(id).replace(
            "seconds = [60, 120]\n",
            &format!("seconds = [60, 120]\nweights = {weights}\n"),
        )
    };
    case(
        "f-negative-weight.toml",
        &with_weights(
            "negative-weight",
            "{ coverage = 0.5, pace = -0.2, length = 0.2, fillers = 0.1 }",
        ),
        9,
        11,
        "weights must not be negative",
    );
    case(
        "g-zero-weights.toml",
        &with_weights(
            "zero-weights",
            "{ coverage = 0, pace = 0, length = 0, fillers = 0, specificity = 0, hedges = 0 }",
        ),
        9,
        11,
        "weights sum to zero",
    );

    // A concept weight of -1 on a new line 13, after `weight = ` (9 characters).
    case(
        "h-negative-concept-weight.toml",
        &format!("{}weight = -1\n", prompt_file("negative-concept-weight")),
        13,
        10,
        "concept `ownership` weight must be above zero",
    );

    // The prompt's id string on line 3 starts after `prompt = ` (9 characters).
    case(
        "playlists/unknown.toml",
        "name = \"Broken\"\n[[step]]\nprompt = \"no-such-prompt\"\n",
        3,
        10,
        "playlist names unknown prompt `no-such-prompt`",
    );

    BrokenBank { dir, expected }
}

#[test]
fn checking_a_broken_bank_reports_every_problem_as_file_line_col() {
    let sb = Sandbox::new();
    let bank = broken_bank(&sb);
    let out = sb.viva(&["--prompts", bank.dir.to_str().unwrap(), "prompts", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "check must fail:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("ok:"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (file, line, col, message) in &bank.expected {
        assert_problem(&stderr, file, *line, *col, message);
    }
    let reported = lines_starting(&stderr, &bank.dir.display().to_string()).len();
    assert_eq!(
        reported,
        bank.expected.len(),
        "one line per problem:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} problems", bank.expected.len())),
        "{stderr}"
    );
}

#[test]
fn a_broken_bank_makes_list_and_score_fail_with_the_same_locations() {
    let sb = Sandbox::new();
    let bank = broken_bank(&sb);
    let dir = bank.dir.to_str().unwrap();
    let answer = sb.path("answer.wav");
    for args in [
        vec!["--prompts", dir, "prompts", "list"],
        vec!["--prompts", dir, "prompts", "show", "inverted"],
        vec![
            "--prompts",
            dir,
            "score",
            answer.to_str().unwrap(),
            "--prompt",
            "inverted",
        ],
    ] {
        let err = sb.viva_err(&args);
        assert!(err.contains("viva prompts check"), "{args:?}: {err}");
        for (file, line, col, message) in &bank.expected {
            assert_problem(&err, file, *line, *col, message);
        }
    }
}

#[test]
fn a_broken_user_bank_in_viva_home_is_reported_too() {
    let sb = Sandbox::new();
    let file = sb.home().join("prompts/mine.toml");
    write(
        &file,
        &prompt_file("mine").replace("[60, 120]", "[120, 60]"),
    );
    let err = sb.viva_err(&["prompts", "list"]);
    assert_problem(&err, &file, 8, 11, "seconds range [120, 60] is inverted");
    let out = sb.viva(&["prompts", "check"]);
    assert!(!out.status.success());
    assert_problem(
        &String::from_utf8_lossy(&out.stderr),
        &file,
        8,
        11,
        "is inverted",
    );
}

const PLAYLIST: &str = r#"name = "Netflix culture fit"
think_seconds = 10
shuffle = false
[[step]]
say = "We'll start with culture fit."
[[step]]
prompt = "culture-decision-without-approval"
max_seconds = 150
[[step]]
pick = { category = "culture", count = 2 }
[[step]]
prompt = "system-design-recommendation-clarify"
repeat_until = 70
"#;

#[test]
fn a_user_playlist_is_listed_with_its_steps() {
    let sb = Sandbox::new();
    write(&sb.home().join("prompts/playlists/x.toml"), PLAYLIST);
    let list = sb.viva_json(&["prompts", "list", "--playlists", "--json"]);
    let playlists = arr(&list);
    let p = playlists
        .iter()
        .find(|p| p["id"] == "x")
        .unwrap_or_else(|| panic!("no playlist x in {list}"));
    assert_eq!(p["name"], "Netflix culture fit");
    assert_eq!(p["think_seconds"], 10);
    assert_eq!(p["shuffle"], false);
    let steps = arr(&p["steps"]);
    assert_eq!(steps.len(), 4, "{p}");
    assert_eq!(steps[0]["kind"], "say");
    assert_eq!(steps[0]["text"], "We'll start with culture fit.");
    assert_eq!(steps[1]["kind"], "prompt");
    assert_eq!(steps[1]["id"], "culture-decision-without-approval");
    assert_eq!(steps[1]["max_seconds"], 150);
    assert_eq!(steps[2]["kind"], "pick");
    assert_eq!(steps[2]["category"], "culture");
    assert_eq!(steps[2]["count"], 2);
    assert_eq!(steps[3]["kind"], "prompt");
    assert_eq!(steps[3]["id"], "system-design-recommendation-clarify");
    assert_eq!(steps[3]["repeat_until"].as_f64(), Some(70.0));

    let table = sb.viva_ok(&["prompts", "list", "--playlists"]);
    assert!(table.contains("Netflix culture fit"), "{table}");
    assert!(table.contains("4 steps"), "{table}");
    let check = sb.viva_ok(&["prompts", "check"]);
    let total = playlists.len();
    assert!(check.contains(&format!("{total} playlists")), "{check}");
}

#[test]
fn bad_playlist_steps_are_rejected_at_file_line_col() {
    let sb = Sandbox::new();
    let culture = arr(&sb.viva_json(&["prompts", "list", "--json"]))
        .iter()
        .filter(|p| p["category"] == "culture")
        .count();
    let file = sb.home().join("prompts/playlists/bad.toml");
    // Line 2: a step with both `say` and `prompt`; line 6: a pick of more culture prompts
    // than exist, its table at column 8; line 9: repeat_until above 100, its value at
    // column 16.
    write(
        &file,
        r#"name = "Bad steps"
[[step]]
say = "Hello."
prompt = "culture-decision-without-approval"
[[step]]
pick = { category = "culture", count = 99 }
[[step]]
prompt = "culture-decision-without-approval"
repeat_until = 150
"#,
    );
    let out = sb.viva(&["prompts", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_problem(
        &stderr,
        &file,
        2,
        1,
        "a step needs exactly one of `say`, `prompt`, `pick` or `due`",
    );
    assert_problem(
        &stderr,
        &file,
        6,
        8,
        &format!("`pick` wants 99 prompts but the bank has {culture} that match"),
    );
    assert_problem(
        &stderr,
        &file,
        9,
        16,
        "repeat_until is an overall score, from 0 to 100",
    );
    assert_eq!(
        lines_starting(&stderr, &file.display().to_string()).len(),
        3,
        "{stderr}"
    );
}

/// Starts `viva ARGS` with stdout piped, reads one line, closes the pipe, and returns the
/// exit status and stderr.
fn read_one_line_then_close(sb: &Sandbox, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = viva_command(sb, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty(), "viva {args:?} printed nothing");
    // The reader, and with it the pipe, is gone: viva's next write meets a closed pipe.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("viva {args:?} did not exit after its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

#[test]
fn closing_stdout_early_ends_viva_quietly_without_a_panic() {
    let sb = Sandbox::new();
    // Enough prompts that the listing is far bigger than a pipe buffer, so viva is still
    // writing when the pipe closes.
    let bank = sb.path("big");
    let text: String = (0..2000)
        .map(|i| prompt_file(&format!("prompt-number-{i}")))
        .collect::<Vec<_>>()
        .join("\n");
    write(&bank.join("big.toml"), &text);
    let bank = bank.to_str().unwrap();
    for args in [
        ["--prompts", bank, "prompts", "list"].as_slice(),
        ["--prompts", bank, "prompts", "list", "--json"].as_slice(),
    ] {
        let (status, stderr) = read_one_line_then_close(&sb, args);
        assert!(!stderr.contains("panicked"), "viva {args:?}: {stderr}");
        assert!(
            !stderr.contains("Broken pipe"),
            "viva {args:?} reported the closed pipe: {stderr}"
        );
        assert!(status.success(), "viva {args:?}: {status}: {stderr}");
    }
}
