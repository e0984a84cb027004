//! The command line: help, version, `config example`, `check-config`, and secrets kept out
//! of every output.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Gateway, get, run_cli};
use std::path::PathBuf;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn help_and_version_read_well() {
    let (code, out, _) = run_cli(&["--help"], &[]);
    assert_eq!(code, 0);
    for needle in [
        "run",
        "check-config",
        "config",
        "--log-format",
        "--log <FILTER>",
        "DEFLECT_HTTP__LISTEN",
    ] {
        assert!(out.contains(needle), "--help lacks {needle}:\n{out}");
    }
    let (code, out, _) = run_cli(&["--version"], &[]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("deflect {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_printed_example_passes_check_config() {
    let (code, example, _) = run_cli(&["config", "example"], &[]);
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "example.toml", &example);
    let (code, out, err) = run_cli(&["check-config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    // The effective configuration is printed, and is itself a valid configuration.
    assert!(out.contains("[[whatsapp.accounts]]"), "{out}");
    assert!(
        !out.contains("EAAG-replace"),
        "secrets of the example are redacted:\n{out}"
    );
}

#[test]
fn check_config_lists_every_problem_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "bad.toml",
        r#"
[http]
listn = "127.0.0.1:8080"

[media]
rtp_ports = "20000-70000"

[[whatsapp.accounts]]
name = "main"
provider = "whatsup"
business_number = "+31201234567"
"#,
    );
    let (code, out, err) = run_cli(&["check-config", path.to_str().unwrap()], &[]);
    assert_eq!(code, 64);
    assert!(out.is_empty(), "nothing on stdout for a bad file: {out}");
    assert!(err.contains("3 problems"), "{err}");
    for (path, valid) in [
        ("http.listn", "`listen`"),
        ("media.rtp_ports", "1–65535"),
        (
            "whatsapp.accounts[0].provider",
            "`meta`, `twilio`, `sinch`, `kaleyra`, `sandbox`",
        ),
    ] {
        let line = err
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{path}:")))
            .unwrap_or_else(|| panic!("no line for {path}:\n{err}"));
        assert!(line.contains(valid), "{line}");
    }
}

#[test]
fn check_config_of_a_missing_file_exits_64() {
    let (code, _, err) = run_cli(&["check-config", "/nonexistent/deflect.toml"], &[]);
    assert_eq!(code, 64);
    assert!(
        err.contains("/nonexistent/deflect.toml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn call_refuses_targets_it_cannot_reach_as_written_and_exits_64() {
    for (uri, want) in [
        ("sips:1000@127.0.0.1;transport=udp", "over TLS only"),
        (
            "sip:1000@127.0.0.1;transport=sctp",
            "transport \"sctp\" is not supported",
        ),
        ("tel:+31201234567", "is not a sip:"),
        ("1000", "is not a SIP URI"),
    ] {
        let (code, out, err) = run_cli(&["call", uri], &[]);
        assert_eq!(code, 64, "{uri}: {out}{err}");
        assert!(err.contains(want), "{uri}: {err}");
    }
}

const SECRETS: [&str; 4] = [
    "s3cr3t-token-in-file",
    "s3cr3t-app-secret-from-env",
    "s3cr3t-verify-from-secret-file",
    "s3cr3t-pg-password",
];

fn secret_config(dir: &tempfile::TempDir) -> (PathBuf, Vec<(String, String)>) {
    let verify = write(dir, "verify-token", &format!("{}\n", SECRETS[2]));
    let config = write(
        dir,
        "deflect.toml",
        &format!(
            r#"
[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "106540352242922"
access_token = "{}"
verify_token_file = "{}"
api_base_url = "http://127.0.0.1:9"
"#,
            SECRETS[0],
            verify.display()
        ),
    );
    let env = vec![(
        "DEFLECT_WHATSAPP__ACCOUNTS__MAIN__APP_SECRET".to_string(),
        SECRETS[1].to_string(),
    )];
    (config, env)
}

#[test]
fn secrets_from_file_env_and_secret_files_never_appear_in_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let (config, env) = secret_config(&dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (code, out, err) = run_cli(&["check-config", config.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("access_token = \"<redacted>\""), "{out}");
    for s in SECRETS {
        assert!(
            !out.contains(s) && !err.contains(s),
            "{s} leaked:\n{out}\n{err}"
        );
    }
}

#[test]
fn secrets_never_appear_in_logs_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let (config, env) = secret_config(&dir);
    let mut builder = Gateway::builder()
        .config(&std::fs::read_to_string(config).unwrap())
        .log("trace");
    for (k, v) in &env {
        builder = builder.env(k, v);
    }
    let gw = builder.start();
    assert_eq!(get(gw.http_addr(), "/readyz").0, 200);
    let logs = gw.logs.clone();
    assert_eq!(gw.stop().code(), Some(0));
    let all = logs.raw().join("\n");
    assert!(
        all.lines().count() > 5,
        "trace logging produced lines:\n{all}"
    );
    for s in SECRETS {
        assert!(!all.contains(s), "{s} leaked into the log:\n{all}");
    }
}

/// `deflect nodes` reads the database as it is and never migrates it (a newer binary's
/// `deflect nodes` during a rolling upgrade must not move the schema ahead of
/// `deflect migrate`); a database without a schema is said to have none.
#[test]
fn nodes_reads_the_database_without_migrating_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let env = [("DEFLECT_DATA_DIR", data.as_str())];
    let (code, out, err) = run_cli(&["nodes"], &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("has no schema yet") && err.contains("deflect migrate"),
        "{err}"
    );
    let (code, _, err) = run_cli(&["migrate"], &env);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_cli(&["nodes"], &env);
    assert_eq!(
        (code, out.trim()),
        (0, "no node has worked on this database yet"),
        "{err}"
    );
}
