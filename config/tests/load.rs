//! Loading behaviour as operators meet it: defaults, the example, environment overrides,
//! secrets, and the list of problems for a bad file.

#![allow(clippy::unwrap_used)]

use deflect_config::{Config, ConfigError, MediaKind, Provider, SipTransport, StoreKind, load};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load_text(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let f = file(text);
    load(Some(f.path()), env(vars))
}

fn paths(e: &ConfigError) -> Vec<&str> {
    e.problems.iter().map(|p| p.path.as_str()).collect()
}

#[test]
fn embedded_defaults_are_the_documented_ones() {
    let c = load(None, env(&[])).unwrap();
    assert_eq!(c.data_dir, Path::new("./data"));
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
    let listen: Vec<String> = c.sip.listen.iter().map(|l| l.to_string()).collect();
    assert_eq!(listen, ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"]);
    assert_eq!(c.media.rtp_ports.to_string(), "20000-20999");
    assert_eq!(c.media.rtp_address.to_string(), "127.0.0.1");
    assert_eq!(c.database_url().expose(), "sqlite://./data/deflect.db");
    let account = c.whatsapp.default_account().unwrap();
    assert_eq!(account.provider, Provider::Sandbox);
    // Loopback only: a softphone on the same machine can call in, nothing else.
    let trunk = &c.sip.trunks[..];
    assert_eq!(trunk.len(), 1);
    assert!(
        trunk[0]
            .allow
            .iter()
            .any(|n| n.contains("127.0.0.1".parse().unwrap()))
    );
    assert!(
        trunk[0]
            .allow
            .iter()
            .any(|n| n.contains("::1".parse().unwrap()))
    );
    assert!(
        !trunk[0]
            .allow
            .iter()
            .any(|n| n.contains("192.0.2.1".parse().unwrap()))
    );
}

#[test]
fn effective_configuration_loads_back_to_the_same_tree() {
    let c = load(None, env(&[])).unwrap();
    let again = load_text(&c.to_redacted_toml(), &[]).unwrap();
    assert_eq!(c, again);
}

#[test]
fn the_example_is_accepted_and_shows_every_key() {
    let f = file(deflect_config::EXAMPLE);
    let c = load(Some(f.path()), env(&[])).unwrap();
    assert_eq!(c.whatsapp.accounts.len(), 5);

    // Every key of the effective configuration is written out in the example, so the
    // example documents the whole tree.
    fn keys(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    keys(&format!("{prefix}.{k}"), v, out);
                }
            }
            toml::Value::Array(a) if a.iter().all(toml::Value::is_table) && !a.is_empty() => {
                for v in a {
                    keys(&format!("{prefix}[]"), v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }
    let mut effective = Vec::new();
    keys(
        "",
        &toml::Value::Table(c.to_redacted_toml().parse().unwrap()),
        &mut effective,
    );
    let mut written = Vec::new();
    keys(
        "",
        &toml::Value::Table(deflect_config::EXAMPLE.parse().unwrap()),
        &mut written,
    );
    let missing: Vec<&String> = effective.iter().filter(|k| !written.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "keys missing from example.toml: {missing:?}"
    );
}

#[test]
fn three_mistakes_are_all_reported_with_their_paths() {
    let e = load_text(
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
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "http.listn",
            "media.rtp_ports",
            "whatsapp.accounts[0].provider"
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("unknown key `listn`") && text.contains("`listen`"),
        "{text}"
    );
    assert!(
        text.contains("70000") && text.contains("out of range"),
        "{text}"
    );
    assert!(
        text.contains("`whatsup`")
            && text.contains("`meta`, `twilio`, `sinch`, `kaleyra`, `sandbox`"),
        "{text}"
    );
}

#[test]
fn problems_in_later_list_entries_keep_their_written_index() {
    let e = load_text(
        r#"
[sip]
listen = ["udp:127.0.0.1:5060", "sctp:127.0.0.1:5060", "udp:127.0.0.1:99999", "tcp:127.0.0.1:5060"]
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["sip.listen[1]", "sip.listen[2]"], "{e}");
}

#[test]
fn validation_problems_across_sections_are_collected() {
    let e = load_text(
        r#"
[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "0201234567"

[[whatsapp.accounts]]
name = "other"
provider = "sandbox"
business_number = "+15550100001"

[[ivr.flows]]
name = "support"
queue = "nope"
"#,
        &[],
    )
    .unwrap_err();
    let p = paths(&e);
    for expected in [
        "whatsapp.accounts[0].business_number",
        "whatsapp.accounts[0].phone_number_id",
        "whatsapp.accounts[0].access_token",
        "whatsapp.accounts[0].app_secret",
        "whatsapp.accounts[0].verify_token",
        "ivr.flows[0].whatsapp_account",
        "ivr.flows[0].queue",
        "widget.sites[0].whatsapp_account",
    ] {
        assert!(p.contains(&expected), "{expected} not in {p:?}");
    }
}

#[test]
fn a_missing_provider_is_reported() {
    let e = load_text(
        "[[whatsapp.accounts]]\nname = \"main\"\nbusiness_number = \"+31201234567\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["whatsapp.accounts[0].provider"]);
    assert!(
        e.problems[0]
            .message
            .contains("meta, twilio, sinch, kaleyra, sandbox")
    );
}

#[test]
fn environment_overrides_every_level() {
    let secret = file("file-token\n");
    let c = load_text(
        r#"
[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "1065"
access_token = "from-file"
app_secret = "app"
verify_token = "verify"
"#,
        &[
            ("DEFLECT_HTTP__LISTEN", "0.0.0.0:9090"),
            ("DEFLECT_SIP__LISTEN", r#"["tcp:0.0.0.0:5080"]"#),
            ("DEFLECT_SIP__MAX_CALLS", "42"),
            ("DEFLECT_DATA_DIR", "/var/lib/deflect"),
            // Entries by name; a numeric-looking secret stays a string.
            ("DEFLECT_WHATSAPP__ACCOUNTS__MAIN__VERIFY_TOKEN", "123456"),
            (
                "DEFLECT_WHATSAPP__ACCOUNTS__0__APP_SECRET_FILE",
                secret.path().to_str().unwrap(),
            ),
            // Not configuration keys: options of the command line.
            ("DEFLECT_LOG", "debug"),
            ("OTHER", "ignored"),
        ],
    )
    .unwrap();
    assert_eq!(c.http.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(c.sip.listen.len(), 1);
    assert_eq!(c.sip.listen[0].transport, SipTransport::Tcp);
    assert_eq!(c.sip.max_calls, 42);
    assert_eq!(c.data_dir, Path::new("/var/lib/deflect"));
    let a = &c.whatsapp.accounts[0];
    assert_eq!(a.verify_token.as_ref().unwrap().expose(), "123456");
    assert_eq!(a.app_secret.as_ref().unwrap().expose(), "file-token");
    assert_eq!(a.access_token.as_ref().unwrap().expose(), "from-file");
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let e = load(
        None,
        env(&[
            ("DEFLECT_HTTP__LISTEN", "nowhere"),
            ("DEFLECT_HTTP__LISTN", "x"),
        ]),
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "http.listen (from DEFLECT_HTTP__LISTEN)",
            "http.listn (from DEFLECT_HTTP__LISTN)"
        ],
        "{e}"
    );
}

#[test]
fn secrets_appear_in_no_output_or_error() {
    let token_file = file("s3cr3t-from-file\n");
    let text = format!(
        r#"
[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "1065"
access_token = "s3cr3t-in-file"
app_secret_file = "{}"
verify_token = 12345

[[sip.trunks]]
name = "carrier"
username = "u"
password = "s3cr3t-password"
challenge_from = ["any"]
"#,
        token_file.path().display()
    );
    // A secret of the wrong type is reported without its value.
    let e = load_text(
        &text,
        &[("DEFLECT_WHATSAPP__ACCOUNTS__MAIN__AUTH_TOKEN", "s3cr3t-env")],
    )
    .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("whatsapp.accounts[0].verify_token"),
        "{shown}"
    );
    assert!(!shown.contains("12345"), "{shown}");

    let c = load_text(
        &text.replace("verify_token = 12345", "verify_token = \"s3cr3t-verify\""),
        &[("DEFLECT_WHATSAPP__ACCOUNTS__MAIN__AUTH_TOKEN", "s3cr3t-env")],
    )
    .unwrap();
    for shown in [c.to_redacted_toml(), format!("{c:?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

#[test]
fn a_syntax_error_gives_the_position_without_quoting_the_line() {
    let e = load_text(
        "[http]\nlisten = \"127.0.0.1:8080\"\naccess_token = \"s3cr3t\n",
        &[],
    )
    .unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("not valid TOML at line 3"), "{shown}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

#[test]
fn a_postgres_password_is_redacted_in_the_effective_configuration() {
    let c = load(
        None,
        env(&[(
            "DEFLECT_DATABASE__URL",
            "postgres://deflect:pg-s3cr3t@db/deflect",
        )]),
    )
    .unwrap();
    assert!(c.database_url().expose().contains("pg-s3cr3t"));
    assert!(!c.to_redacted_toml().contains("pg-s3cr3t"));
}

#[test]
fn secret_files_and_values_cannot_both_be_set() {
    let f = file("x");
    let e = load_text(
        &format!(
            "[[sip.trunks]]\nname = \"t\"\nusername = \"u\"\npassword = \"p\"\npassword_file = \"{}\"\nchallenge_from = [\"any\"]\n",
            f.path().display()
        ),
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["sip.trunks[0].password_file"]);
    let e = load_text(
        "[[sip.trunks]]\nname = \"t\"\nusername = \"u\"\npassword_file = \"/nonexistent/secret\"\nchallenge_from = [\"any\"]\n",
        &[],
    )
    .unwrap_err();
    assert!(
        e.problems[0].message.contains("cannot read secret file"),
        "{e}"
    );
}

#[test]
fn outgoing_webhooks_and_web_limits_are_checked() {
    let e = load_text(
        r#"
[http]
session_ttl = "10s"
login_attempts_per_minute = 0
client_ip_header = "x forwarded"

[[http.webhooks]]
name = "crm"
url = "ftp://crm.example.com/hooks"
signing_secret = "short"
events = ["message.received", "message.deleted"]
max_attempts = 0
"#,
        &[],
    )
    .unwrap_err();
    let p = paths(&e);
    for key in [
        "http.session_ttl",
        "http.login_attempts_per_minute",
        "http.client_ip_header",
        "http.trusted_proxies",
        "http.webhooks[0].url",
        "http.webhooks[0].signing_secret",
        "http.webhooks[0].events[1]",
        "http.webhooks[0].max_attempts",
    ] {
        assert!(p.contains(&key), "{key} missing from {p:?}");
    }
    assert!(e.to_string().contains("valid: conversation.created"), "{e}");
    assert!(
        !e.to_string().contains("short"),
        "the secret is not echoed: {e}"
    );
    let ok = load_text(
        r#"
[[http.webhooks]]
name = "crm"
url = "https://crm.example.com/hooks"
signing_secret = "0123456789abcdef"
"#,
        &[],
    )
    .unwrap();
    assert!(
        ok.http.webhooks[0].wants("deflection.sent"),
        "no events: every event"
    );
}

#[test]
fn connection_limits_are_checked() {
    let e = load_text(
        r#"
[http]
max_connections = 0
max_connections_per_source = 0
header_timeout = "100ms"
body_timeout = "1h"
send_timeout = "0s"
"#,
        &[],
    )
    .unwrap_err();
    let p = paths(&e);
    for key in [
        "http.max_connections",
        "http.max_connections_per_source",
        "http.header_timeout",
        "http.body_timeout",
        "http.send_timeout",
    ] {
        assert!(p.contains(&key), "{key} missing from {p:?}");
    }
    let text = e.to_string();
    assert!(
        text.contains("0 is out of range; expected 1–1000000"),
        "{e}"
    );
    assert!(
        text.contains("100ms is out of range; expected 1s–5m"),
        "{e}"
    );
    assert!(text.contains("1h is out of range; expected 1s–10m"), "{e}");
    let e = load_text(
        "[http]\nmax_connections = 100\nmax_connections_per_source = 101\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["http.max_connections_per_source"]);
    assert!(
        e.to_string()
            .contains("101 is out of range; expected 1–100 (http.max_connections)"),
        "{e}"
    );
    let ok = load_text(
        "[http]\nmax_connections = 100\nmax_connections_per_source = 100\nheader_timeout = \"1s\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        ok.http.max_connections_per_source, 100,
        "behind a proxy: one source may use them all"
    );
    let defaults = load_text("", &[]).unwrap().http;
    assert_eq!(
        (
            defaults.max_connections,
            defaults.max_connections_per_source
        ),
        (10_000, 256)
    );
}

#[test]
fn ice_servers_name_turns_credentials_and_refuse_other_urls() {
    let e = load_text(
        r#"
[[media.ice_servers]]
urls = ["http://stun.example.com"]

[[media.ice_servers]]
urls = ["turn:turn.example.com"]

[[media.ice_servers]]
urls = ["stun:stun.example.com"]
username = "shop"
password = "hunter2-secret"

[[media.ice_servers]]
urls = ["turn:turn.example.com"]
auth_secret = "s"
credential_ttl = "30s"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "media.ice_servers[0].urls[0]",
            "media.ice_servers[1]",
            "media.ice_servers[2]",
            "media.ice_servers[3].credential_ttl"
        ],
        "{e}"
    );
    assert!(e.problems[1].message.contains("auth_secret"), "{e}");
    assert!(
        !e.to_string().contains("hunter2"),
        "secrets stay out of errors: {e}"
    );
    let c = load_text(
        "[[media.ice_servers]]\nurls = [\"turns:turn.example.com:5349\"]\nauth_secret = \"s\"\n",
        &[],
    )
    .unwrap();
    let turn = &c.media.ice_servers[0];
    assert_eq!(turn.auth_secret.as_ref().map(|s| s.expose()), Some("s"));
    assert_eq!(turn.credential_ttl, Duration::from_secs(86_400));
}

#[test]
fn a_widget_sites_call_number_is_a_dialled_number() {
    let e = load_text(
        "[[widget.sites]]\nname = \"www\"\ncall_number = \"sales\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["widget.sites[0].call_number"]);
    assert!(e.problems[0].message.contains("digits"), "{e}");
    let c = load_text(
        "[[widget.sites]]\nname = \"www\"\ncall_number = \"+31201234567\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.widget.sites[0].call_number.as_deref(),
        Some("+31201234567")
    );
    assert_eq!(
        load(None, env(&[])).unwrap().widget.sites[0].call_number,
        None
    );
}

#[test]
fn widget_opening_hours_are_checked_like_a_flows() {
    let e = load_text(
        r#"
[[widget.sites]]
name = "www"
closed_message = " "

[widget.sites.hours]
time_zone = "Mars/Olympus"
holidays = ["25-12-2026"]
"#,
        &[],
    )
    .unwrap_err();
    let p = paths(&e);
    for expected in [
        "widget.sites[0].hours.time_zone",
        "widget.sites[0].hours.weekly",
        "widget.sites[0].hours.holidays[0]",
        "widget.sites[0].closed_message",
    ] {
        assert!(p.contains(&expected), "{expected} not in {p:?}");
    }
    let e = load_text(
        "[[widget.sites]]\nname = \"www\"\n[widget.sites.hours]\ntime_zone = \"UTC\"\nweekly = [\"mon 9-17\"]\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e)[0], "widget.sites[0].hours.weekly[0]");
    assert!(e.problems[0].message.contains("HH:MM"), "{e}");
    let c = load_text(
        "[[widget.sites]]\nname = \"www\"\n[widget.sites.hours]\ntime_zone = \"Asia/Seoul\"\nweekly = [\"mon-fri 09:00-18:00\"]\n",
        &[],
    )
    .unwrap();
    let hours = c.widget.site("www").unwrap().hours.as_ref().unwrap();
    let open = deflect_config::OpeningHours::new(hours).unwrap();
    // Monday 2026-11-23 10:00 in Seoul is 01:00 UTC.
    assert!(open.is_open("2026-11-23T01:00:00Z".parse().unwrap()));
    assert!(!open.is_open("2026-11-23T09:00:00Z".parse().unwrap()));
}

#[test]
fn sip_hardening_defaults_are_the_documented_ones() {
    let c = load(None, env(&[])).unwrap();
    let s = &c.sip;
    // No version for scanners to match exploits against.
    assert_eq!(s.user_agent, "deflect");
    assert_eq!(s.auth.nonce_lifetime, std::time::Duration::from_secs(30));
    assert_eq!(s.auth.failure_window, std::time::Duration::from_secs(600));
    assert_eq!(s.auth.max_failures_per_source, 5);
    assert_eq!(s.auth.max_failures_per_username, 20);
    assert_eq!(s.auth.ban_time, std::time::Duration::from_secs(600));
    assert_eq!(s.tcp_max_connections, 4096);
    assert_eq!(s.tcp_max_connections_per_source, 128);
    assert_eq!(s.tcp_message_timeout, std::time::Duration::from_secs(10));
}

#[test]
fn digest_trunks_name_the_sources_they_challenge() {
    let c = load_text(
        r#"
[[sip.trunks]]
name = "anywhere"
username = "u"
password = "p"
challenge_from = ["any"]

[[sip.trunks]]
name = "office"
username = "v"
password = "q"
challenge_from = ["198.51.100.0/24", "2001:db8::1"]
"#,
        &[],
    )
    .unwrap();
    let any = &c.sip.trunks[0].challenge_from;
    assert!(any[0].contains("192.0.2.1".parse().unwrap()));
    let office = &c.sip.trunks[1].challenge_from;
    assert!(
        office
            .iter()
            .any(|s| s.contains("198.51.100.9".parse().unwrap()))
    );
    assert!(
        !office
            .iter()
            .any(|s| s.contains("192.0.2.1".parse().unwrap()))
    );
    // The effective configuration writes them as they were given.
    assert!(c.to_redacted_toml().contains(r#"challenge_from = ["any"]"#));

    let e = load_text(
        r#"
[[sip.trunks]]
name = "open"
username = "u"
password = "p"

[[sip.trunks]]
name = "ip"
allow = ["192.0.2.0/24"]
challenge_from = ["any"]

[[sip.trunks]]
name = "typo"
username = "w"
password = "r"
challenge_from = ["anywhere"]
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "sip.trunks[2].challenge_from[0]",
            "sip.trunks[0].challenge_from",
            "sip.trunks[1].challenge_from",
            // Its only entry was unusable, so none is left.
            "sip.trunks[2].challenge_from",
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(r#""anywhere""#) && text.contains(r#"or "any""#),
        "{text}"
    );
    assert!(
        text.contains(r#"[\"any\"]"#) || text.contains(r#"["any"]"#),
        "{text}"
    );
}

#[test]
fn sip_auth_and_tcp_limits_are_checked() {
    let e = load_text(
        r#"
[sip]
tcp_message_timeout = "100ms"
tcp_max_connections = 10
tcp_max_connections_per_source = 20

[sip.auth]
nonce_lifetime = "1h"
failure_window = "0s"
max_failures_per_source = 0
max_failures_per_username = 1000
ban_time = "0s"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "sip.tcp_message_timeout",
            "sip.tcp_max_connections_per_source",
            "sip.auth.nonce_lifetime",
            "sip.auth.failure_window",
            "sip.auth.ban_time",
            "sip.auth.max_failures_per_source",
            "sip.auth.max_failures_per_username",
        ],
        "{e}"
    );
    let text = e.to_string();
    for shown in [
        "100ms",
        "1h",
        "20 is more than sip.tcp_max_connections (10)",
        "1000 is out of range; must be 1 to 100",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
}

#[test]
fn an_auto_reply_with_an_unknown_variable_names_its_key_and_the_valid_ones() {
    let e = load_text(
        r#"
[[inbox.queues]]
name = "overflow"
fallback = "auto_reply"
auto_reply = "Sorry {{customer_name}}, {{agent_name}} is busy."

[[inbox.queues]]
name = "late"
fallback = "auto_reply"
auto_reply = "Sorry {{customer_name"
"#,
        &[],
    )
    .unwrap_err();
    let problem = |path: &str| {
        let p = e.problems.iter().find(|p| p.path == path);
        p.map(|p| p.message.clone()).unwrap_or_default()
    };
    assert_eq!(
        problem("inbox.queues[0].auto_reply"),
        "unknown variable {{agent_name}}; valid: {{customer_name}}, {{customer_phone}}, {{queue}}, {{reference}}"
    );
    assert!(
        problem("inbox.queues[1].auto_reply").contains("syntax error"),
        "{:?}",
        e.problems
    );
}

#[test]
fn a_queues_timeouts_are_bounded() {
    let e = load_text(
        r#"
[[inbox.queues]]
name = "fast"
offer_timeout = "0s"
wait_timeout = "1s"

[[inbox.queues]]
name = "slow"
offer_timeout = "2h"
wait_timeout = "30d"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "inbox.queues[0].offer_timeout",
            "inbox.queues[0].wait_timeout",
            "inbox.queues[1].offer_timeout",
            "inbox.queues[1].wait_timeout",
        ]
    );
}

#[test]
fn bots_are_checked_and_their_urls_never_shown_whole() {
    let e = load_text(
        r#"
[[inbox.bots]]
name = "rasa"
url = "http://rasa:5005/webhooks/rest/webhook"

[[inbox.bots]]
name = "faq"
url = "ftp://bot:s3cr3t@faq.example.com/hook?token=t0k3n"
timeout = "2m"
silence_close = "30s"
queue = "billing"

[[inbox.bots]]
name = "nourl"

[[inbox.bots]]
name = "typo"
url = "http://bot.example.com/webhooks/rest/webhook"
handover_intnet = "agent"

[[inbox.bots]]
name = "garbled"
url = "not a URL, s3cr3t"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(ConfigError::EXIT_CODE, 64);
    let p = paths(&e);
    for key in [
        "inbox.bots[1].url",
        "inbox.bots[1].timeout",
        "inbox.bots[1].silence_close",
        "inbox.bots[1].queue",
        "inbox.bots[2].url",
        "inbox.bots[3].handover_intnet",
        "inbox.bots[4].url",
    ] {
        assert!(p.contains(&key), "{key} missing from {p:?}");
    }
    assert!(!p.iter().any(|k| k.starts_with("inbox.bots[0]")), "{p:?}");
    let shown = e.to_string();
    assert!(shown.contains("http:// or https://"), "{shown}");
    assert!(
        shown.contains("inbox.bots[1].queue: no queue is named \"billing\"; valid: default"),
        "{shown}"
    );
    assert!(shown.contains("between 1s and 60s"), "{shown}");
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("t0k3n"),
        "{shown}"
    );

    let c = load_text(
        r#"
[[inbox.bots]]
name = "rasa"
url = "https://deflect:s3cr3t@rasa.example.com/webhooks/rest/webhook?token=t0k3n"
"#,
        &[],
    )
    .unwrap();
    let bot = &c.inbox.bots[0];
    assert_eq!(bot.timeout, std::time::Duration::from_secs(5));
    assert_eq!(bot.silence_close, std::time::Duration::from_secs(600));
    assert_eq!(bot.handover_intent, "human_handoff");
    assert_eq!(bot.queue, None);
    let url = bot.url.as_ref().unwrap().expose();
    assert_eq!(url.password(), Some("s3cr3t"));
    assert_eq!(url.query(), Some("token=t0k3n"));
    for shown in [c.to_redacted_toml(), format!("{c:?}")] {
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("t0k3n"),
            "{shown}"
        );
        assert!(
            shown.contains("rasa.example.com/webhooks/rest/webhook"),
            "{shown}"
        );
    }
}

#[test]
fn automations_name_the_key_an_account_or_the_inbox_got_wrong() {
    let e = load_text(
        r#"
[inbox.automations]
welcome_message = "Hello {{nickname}}"
whitelist = ["+31201234567", "0800 123"]

[[whatsapp.accounts]]
name = "shop"
provider = "sandbox"
business_number = "+15550100000"

[whatsapp.accounts.automations]
welcome_period = "2s"
whitelist = ["+49*", "49*"]
"#,
        &[],
    )
    .unwrap_err();
    let mut paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "inbox.automations.welcome_message",
            "inbox.automations.whitelist[1]",
            "whatsapp.accounts[0].automations.welcome_period",
            "whatsapp.accounts[0].automations.whitelist[1]",
        ],
        "{:?}",
        e.problems
    );
}

#[test]
fn sites_and_flows_change_automations_and_are_told_the_keys_that_cannot_apply() {
    let text = r#"
[inbox.automations]
welcome_message = "Hello {{customer_name}}"

[inbox.automations.welcome_translations]
nl = "Hallo {{customer_name}}"

[[inbox.faq]]
question = "When are you open?"
answer = "Nine to five."

[[widget.sites]]
name = "shop"

[widget.sites.automations]
welcome_message = "Welcome to the shop"
bot = "faq"

[widget.sites.automations.welcome_translations]
de = "Willkommen im Shop"

[[widget.sites]]
name = "plain"

[[ivr.flows]]
name = "support"

[ivr.flows.automations]
bot = "faq"
reminder_after = "2m"
"#;
    let c = load_text(
        text,
        &[("DEFLECT_WIDGET__SITES__PLAIN__AUTOMATIONS__CSAT", "true")],
    )
    .unwrap();
    let defaults = &c.inbox.automations;
    let rules =
        |o: &deflect_config::AutomationOverrides| c.whatsapp.automations_of(defaults, None).with(o);
    let shop = rules(&c.widget.site("shop").unwrap().automations);
    assert_eq!(shop.bot, "faq");
    assert_eq!(shop.welcome_for(Some("de")), "Willkommen im Shop");
    // Its own welcome: the inbox-wide translations were of another text.
    assert_eq!(shop.welcome_for(Some("nl")), "Welcome to the shop");
    let plain = rules(&c.widget.site("plain").unwrap().automations);
    assert_eq!(plain.welcome_for(Some("nl")), "Hallo {{customer_name}}");
    assert!(plain.csat && !defaults.csat);
    let flow = rules(&c.ivr.flows[0].automations);
    assert_eq!(
        (flow.bot.as_str(), flow.reminder_after.as_secs()),
        ("faq", 120)
    );

    let e = load_text(
        r#"
[[widget.sites]]
name = "shop"

[widget.sites.automations]
bot = "nobody"
whitelist = ["+31*"]
ice_breakers = ["Where is my order?"]
closed_queue = false
welcome_message = "Hi {{nickname}}"

[widget.sites.automations.welcome_translations]
NL = "Hoi"

[[ivr.flows]]
name = "support"

[ivr.flows.automations]
welcome_message = "Hi"
whitelist_reply = "Members only"
reminder_after = "5s"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "ivr.flows[0].automations.whitelist_reply",
            "ivr.flows[0].automations.welcome_message",
            "ivr.flows[0].automations.reminder_after",
            "widget.sites[0].automations.whitelist",
            "widget.sites[0].automations.ice_breakers",
            "widget.sites[0].automations.closed_queue",
            "widget.sites[0].automations.welcome_message",
            "widget.sites[0].automations.welcome_translations.NL",
            "widget.sites[0].automations.bot",
        ],
        "{:?}",
        e.problems
    );
    let why = |path: &str| {
        let p = e.problems.iter().find(|p| p.path == path).unwrap();
        p.message.clone()
    };
    assert!(why("widget.sites[0].automations.whitelist").contains("widget visitor"));
    assert!(why("widget.sites[0].automations.ice_breakers").contains("WhatsApp number"));
    assert!(why("ivr.flows[0].automations.welcome_message").contains("deflection template"));
    assert!(why("widget.sites[0].automations.welcome_translations.NL").contains("ISO 639-1"));
    assert!(why("widget.sites[0].automations.bot").contains("faq"));
}

#[test]
fn faq_entries_are_checked_with_their_keys() {
    let e = load_text(
        r#"
[[inbox.faq]]
question = "What are your opening hours?"
answer = ""

[[inbox.faq]]
question = "Wo ist meine Bestellung?"
answer = "Hallo {{customer_name}}, schauen Sie in Ihre E-Mail."
language = "german"

[[inbox.faq]]
question = "Where is my order?"
answer = "See your e-mail."
account = "elsewhere"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "inbox.faq[0].answer",
            "inbox.faq[1].language",
            "inbox.faq[2].account"
        ],
        "{e}"
    );
    let text = e.to_string();
    for shown in [
        "required: the text sent as the answer",
        "\"german\" is not a supported language; valid: ar, da, de, el, en, es, fi, fr, hu, it, nl, no, pt, ro, ru, sv, tr",
        "sandbox",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    // A configuration with problems is refused with EX_USAGE.
    assert_eq!(ConfigError::EXIT_CODE, 64);

    let c = load_text(
        r#"
[[inbox.faq]]
question = "Wo ist meine Bestellung?"
answer = "Hallo {{customer_name}}, schauen Sie in Ihre E-Mail."
language = "de"
account = "sandbox"
"#,
        &[],
    )
    .unwrap();
    assert_eq!(c.inbox.faq.len(), 1);
    assert_eq!(c.inbox.faq[0].language(), "de");
    assert_eq!(c.inbox.faq[0].account.as_deref(), Some("sandbox"));
}

#[test]
fn csat_settings_name_their_keys_and_valid_values() {
    let e = load_text(
        r#"
[inbox.automations]
csat = true
csat_scale = "1-10"

[whatsapp]
default_account = "shop"

[[whatsapp.accounts]]
name = "shop"
provider = "sandbox"
business_number = "+15550100000"

[whatsapp.accounts.automations]
csat_template = "Rate Us"

[[whatsapp.accounts]]
name = "phones"
provider = "twilio"
business_number = "+15550100001"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "secret"

[whatsapp.accounts.automations]
csat_template = "deflect_csat"
"#,
        &[],
    )
    .unwrap_err();
    let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "inbox.automations.csat_scale",
            "whatsapp.accounts[0].automations.csat_template",
            "whatsapp.accounts[1].automations.csat_template"
        ],
        "{:?}",
        e.problems
    );
    assert!(
        e.problems[0]
            .message
            .contains("`1-5` or `good-neutral-bad`"),
        "{:?}",
        e.problems
    );
    assert!(
        e.problems[2].message.contains("Content SID"),
        "{:?}",
        e.problems
    );
}

#[test]
fn attachments_default_to_a_local_directory_in_the_data_dir_with_whatsapp_caps() {
    let c = load(None, env(&[("DEFLECT_DATA_DIR", "/var/lib/deflect")])).unwrap();
    assert_eq!(c.attachments.store, StoreKind::Local);
    assert_eq!(
        c.attachments_path(),
        Path::new("/var/lib/deflect/attachments")
    );
    // The effective configuration shows the resolved directory.
    assert!(
        c.to_redacted_toml()
            .contains("path = \"/var/lib/deflect/attachments\""),
        "{}",
        c.to_redacted_toml()
    );
    let caps = &c.attachments.max_size;
    assert_eq!(caps.of(MediaKind::Image), 5 << 20);
    assert_eq!(caps.of(MediaKind::Audio), 16 << 20);
    assert_eq!(caps.of(MediaKind::Video), 16 << 20);
    assert_eq!(caps.of(MediaKind::Document), 100 << 20);
    assert_eq!(caps.of(MediaKind::Sticker), 500 << 10);
    assert!(c.attachments.s3.is_none());
}

#[test]
fn an_s3_store_is_read_with_its_secret_kept_out_of_every_output() {
    let secret = file("s3cr3t-key-from-file\n");
    let c = load_text(
        &format!(
            r#"
[attachments]
store = "s3"
path = "/srv/deflect/uploads"

[attachments.max_size]
document = "20MB"
sticker = "100KiB"

[attachments.s3]
bucket = "deflect-media"
endpoint = "http://127.0.0.1:9000"
allow_http = true
access_key_id = "deflect"
secret_access_key_file = "{}"
prefix = "prod/attachments"
"#,
            secret.path().display()
        ),
        &[("DEFLECT_ATTACHMENTS__S3__REGION", "eu-west-1")],
    )
    .unwrap();
    assert_eq!(c.attachments.store, StoreKind::S3);
    assert_eq!(c.attachments_path(), Path::new("/srv/deflect/uploads"));
    assert_eq!(c.attachments.max_size.of(MediaKind::Document), 20_000_000);
    assert_eq!(c.attachments.max_size.of(MediaKind::Sticker), 100 * 1024);
    assert_eq!(c.attachments.max_size.of(MediaKind::Image), 5 << 20);
    let s3 = c.attachments.s3.as_ref().unwrap();
    assert_eq!(s3.bucket, "deflect-media");
    assert_eq!(s3.region, "eu-west-1");
    assert_eq!(s3.prefix.as_deref(), Some("prod/attachments"));
    assert_eq!(
        s3.secret_access_key.as_ref().map(|s| s.expose()),
        Some("s3cr3t-key-from-file")
    );
    for shown in [c.to_redacted_toml(), format!("{c:?}")] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
    // A secret of the wrong type is reported without its value.
    let e = load_text(
        "[attachments]\nstore = \"s3\"\n[attachments.s3]\nbucket = \"media\"\naccess_key_id = \"k\"\nsecret_access_key = 424242\n",
        &[],
    )
    .unwrap_err();
    assert!(
        paths(&e).contains(&"attachments.s3.secret_access_key"),
        "{e}"
    );
    assert!(!e.to_string().contains("424242"), "{e}");
}

#[test]
fn attachments_problems_name_their_keys_and_the_valid_values() {
    let e = load_text(
        r#"
[attachments]
store = "s3"

[attachments.max_size]
image = "200B"
video = "2GiB"
audio = "16 megabytes"

[attachments.s3]
bucket = "Deflect_Media"
endpoint = "http://minio.internal:9000"
region = ""
access_key_id = "deflect"
prefix = "/attachments/"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "attachments.max_size.audio",
            "attachments.max_size.image",
            "attachments.max_size.video",
            "attachments.s3.bucket",
            "attachments.s3.endpoint",
            "attachments.s3.region",
            "attachments.s3.secret_access_key",
            "attachments.s3.prefix",
        ],
        "{e}"
    );
    let text = e.to_string();
    for shown in [
        "unknown unit \"megabytes\"",
        "200B is out of range; must be between 1KiB and 1GiB",
        "2GiB is out of range",
        "\"Deflect_Media\" is not a bucket name",
        "set attachments.s3.allow_http = true",
        "required with access_key_id",
        "\"/attachments/\" is not a key prefix",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }

    let e = load_text("[attachments]\nstore = \"gcs\"\n", &[]).unwrap_err();
    assert_eq!(paths(&e), ["attachments.store"], "{e}");
    assert!(e.to_string().contains("expected `local` or `s3`"), "{e}");

    let e = load_text("[attachments]\nstore = \"s3\"\n", &[]).unwrap_err();
    assert_eq!(paths(&e), ["attachments.s3.bucket"], "{e}");

    let e = load(
        None,
        env(&[("DEFLECT_ATTACHMENTS__S3__BUCKET", "deflect-media")]),
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["attachments.s3"], "{e}");
    assert!(e.to_string().contains("store = \"s3\""), "{e}");

    let e = load_text(
        "[attachments]\nstore = \"s3\"\nbucket = \"media\"\n[attachments.s3]\nbucket = \"media\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(paths(&e), ["attachments.bucket"], "{e}");
    // A configuration with problems is refused with EX_USAGE.
    assert_eq!(ConfigError::EXIT_CODE, 64);
}

#[test]
fn the_examples_s3_section_is_valid_once_uncommented() {
    let mut text = String::new();
    let mut in_s3 = false;
    for line in deflect_config::EXAMPLE.lines() {
        if line.starts_with("# [attachments.s3]") {
            in_s3 = true;
        }
        if line.is_empty() {
            in_s3 = false;
        }
        let line = match line.strip_prefix("# ") {
            Some(rest) if in_s3 => rest,
            _ => line,
        };
        text.push_str(&line.replace("store = \"local\"", "store = \"s3\""));
        text.push('\n');
    }
    let c = load_text(&text, &[]).unwrap();
    let s3 = c.attachments.s3.unwrap();
    assert_eq!(c.attachments.store, StoreKind::S3);
    assert_eq!(s3.bucket, "deflect-attachments");
    assert_eq!(s3.prefix.as_deref(), Some("deflect"));
}

#[test]
fn sinch_accounts_name_their_missing_keys_and_valid_regions() {
    let e = load_text(
        r#"
[whatsapp]
default_account = "se"

[[whatsapp.accounts]]
name = "se"
provider = "sinch"
business_number = "+46732000000"
project_id = "c36f3d3d"
region = "asia"
key_secret = "s"

[[whatsapp.accounts]]
name = "nl"
provider = "twilio"
business_number = "+31207654321"
account_sid = "AC00000000000000000000000000000000"
auth_token = "t"
app_id = "01EB37HMH1M6SV18BSNS3G135H"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "whatsapp.accounts[0].app_id",
            "whatsapp.accounts[0].key_id",
            "whatsapp.accounts[0].webhook_secret",
            "whatsapp.accounts[0].region",
            "whatsapp.accounts[1].app_id",
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(r#""asia" is not a region of sinch; valid: us, eu, br"#),
        "{text}"
    );
    assert!(text.contains(r#"only for provider "sinch""#), "{text}");
    let c = load_text(
        r#"
[[whatsapp.accounts]]
name = "se"
provider = "sinch"
business_number = "+46732000000"
project_id = "c36f3d3d"
app_id = "01EB37HMH1M6SV18BSNS3G135H"
region = "eu"
key_id = "k"
key_secret = "s"
webhook_secret = "w"
"#,
        &[],
    )
    .unwrap();
    let a = &c.whatsapp.accounts[0];
    assert_eq!(
        a.api_base_url().unwrap().as_str(),
        "https://eu.conversation.api.sinch.com/"
    );
}

#[test]
fn sms_fallbacks_name_their_missing_keys_and_variables() {
    let e = load_text(
        r#"
[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "1"
access_token = "t"
app_secret = "s"
verify_token = "v"

[whatsapp.accounts.sms_fallback]
provider = "sinch"
region = "mars"
account_sid = "AC1"
text = "Go to {{url}}"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "whatsapp.accounts[0].sms_fallback.from",
            "whatsapp.accounts[0].sms_fallback.text",
            "whatsapp.accounts[0].sms_fallback.service_plan_id",
            "whatsapp.accounts[0].sms_fallback.api_token",
            "whatsapp.accounts[0].sms_fallback.region",
            "whatsapp.accounts[0].sms_fallback.account_sid",
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(
            "unknown variable {{url}}; valid: {{link}}, {{reference}}, {{business_number}}"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#""mars" is not a region for SMS provider "sinch"; valid: us, eu, au, br, ca"#
        ),
        "{text}"
    );
    // A Twilio WhatsApp account lends its SID and token to a Twilio SMS fallback.
    let c = load_text(
        r#"
[[whatsapp.accounts]]
name = "tw"
provider = "twilio"
business_number = "+31207654321"
account_sid = "AC00000000000000000000000000000000"
auth_token = "t"

[whatsapp.accounts.sms_fallback]
provider = "twilio"
from = "+3197010200300"
"#,
        &[],
    )
    .unwrap();
    let sms = c.whatsapp.accounts[0].sms_fallback.as_ref().unwrap();
    assert_eq!(sms.api_base_url().as_str(), "https://api.twilio.com/");
    assert!(sms.text.contains("{{link}}"));
}

#[test]
fn kaleyra_accounts_name_their_missing_keys_and_pods() {
    let account = |extra: &str| {
        format!(
            "[[whatsapp.accounts]]\nname = \"in\"\nprovider = \"kaleyra\"\nbusiness_number = \"+919800000000\"\n{extra}"
        )
    };
    let e = load_text(&account("region = \"us\"\nkey_id = \"k\"\n"), &[]).unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "whatsapp.accounts[0].account_sid",
            "whatsapp.accounts[0].api_key",
            "whatsapp.accounts[0].webhook_secret",
            "whatsapp.accounts[0].region",
            "whatsapp.accounts[0].key_id",
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains(r#""us" is not a region of kaleyra; valid: in, ap, eu, na"#),
        "{text}"
    );
    assert!(
        text.contains(r#"key_id: only for provider "sinch""#),
        "{text}"
    );
    let short = "account_sid = \"HXIN1\"\napi_key = \"a\"\nwebhook_secret = \"guessable\"\n";
    let e = load_text(&account(short), &[]).unwrap_err();
    assert_eq!(paths(&e), ["whatsapp.accounts[0].webhook_secret"], "{e}");
    assert!(e.to_string().contains("at least 32 characters"), "{e}");
    let keys = "account_sid = \"HXIN1\"\napi_key = \"a\"\nwebhook_secret = \"0123456789abcdef0123456789abcdef\"\n";
    for (pod, base) in [
        ("", "https://api.kaleyra.io/"),
        ("region = \"eu\"\n", "https://api.eu.kaleyra.io/"),
        ("region = \"na\"\n", "https://api.na.kaleyra.ai/"),
    ] {
        let c = load_text(&account(&format!("{keys}{pod}")), &[]).unwrap();
        assert_eq!(
            c.whatsapp.accounts[0].api_base_url().unwrap().as_str(),
            base
        );
    }
}

#[test]
fn template_sources_name_their_keys() {
    let e = load_text(
        r#"
[whatsapp]
default_account = "main"
templates_refresh_interval = "10s"

[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "106540352242922"
business_account_id = "waba-1"
access_token = "t"
app_secret = "s"
verify_token = "v"
content_api_base_url = "https://content.twilio.com"

[[whatsapp.accounts]]
name = "nl"
provider = "twilio"
business_number = "+31207654321"
account_sid = "AC00000000000000000000000000000000"
auth_token = "t"
business_account_id = "102290129340398"
content_api_base_url = "ftp://content.example"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "whatsapp.accounts[0].business_account_id",
            "whatsapp.accounts[0].content_api_base_url",
            "whatsapp.accounts[1].business_account_id",
            "whatsapp.accounts[1].content_api_base_url",
            "whatsapp.templates_refresh_interval",
        ],
        "{e}"
    );
    let ok = load_text(
        r#"
[whatsapp]
default_account = "main"

[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "106540352242922"
business_account_id = "102290129340398"
access_token = "t"
app_secret = "s"
verify_token = "v"

[[whatsapp.accounts]]
name = "nl"
provider = "twilio"
business_number = "+31207654321"
account_sid = "AC00000000000000000000000000000000"
auth_token = "t"
"#,
        &[],
    )
    .unwrap();
    assert_eq!(ok.whatsapp.templates_refresh_interval.as_secs(), 3600);
    let nl = ok.whatsapp.account("nl").unwrap();
    assert_eq!(
        nl.content_api_base_url().unwrap().as_str(),
        "https://content.twilio.com/"
    );
    assert_eq!(
        ok.whatsapp.account("main").unwrap().content_api_base_url(),
        None
    );
}

#[test]
fn media_links_are_signed_with_a_long_secret_for_a_bounded_time() {
    let c = load(None, env(&[])).unwrap();
    assert_eq!(c.attachments.signing_secret, None);
    assert_eq!(c.attachments.link_ttl, Duration::from_secs(3600));
    let key = "k".repeat(40);
    let c = load_text(
        &format!("[attachments]\nsigning_secret = \"{key}\"\nlink_ttl = \"10m\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(
        c.attachments.signing_secret.as_ref().map(|s| s.expose()),
        Some(key.as_str())
    );
    assert_eq!(c.attachments.link_ttl, Duration::from_secs(600));
    assert!(!c.to_redacted_toml().contains(&key));
    let e = load_text(
        "[attachments]\nsigning_secret = \"short-secret\"\nlink_ttl = \"30d\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        ["attachments.signing_secret", "attachments.link_ttl"],
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains("at least 32 random characters"), "{text}");
    assert!(
        text.contains("30days is out of range; must be between 1m and 7d"),
        "{text}"
    );
    assert!(!text.contains("short-secret"), "{text}");
}

#[test]
fn relay_settings_name_their_keys_and_valid_values() {
    let e = load_text(
        r#"
[inbox.relay]
offer_timeout = "5s"
inactivity_close = "80h"
connected_message = "Hi, I am {{agent}}"
"#,
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        [
            "inbox.relay.offer_timeout",
            "inbox.relay.inactivity_close",
            "inbox.relay.connected_message",
        ]
    );
    assert!(e.to_string().contains("agent_name"), "{e}");
    let e = load_text("[inbox.relay]\nfallback = \"wait\"\n", &[]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("inbox.relay.fallback") && text.contains("`queue` or `close`"),
        "{text}"
    );
}

#[test]
fn a_tls_listener_needs_a_readable_certificate_and_key() {
    let e = load_text("[sip]\nlisten = [\"tls:127.0.0.1:5061\"]\n", &[]).unwrap_err();
    assert_eq!(paths(&e), ["sip.tls.certificate"], "{e}");
    assert!(e.to_string().contains("needs a certificate"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("sip.crt"), dir.path().join("sip.key"));
    std::fs::write(&cert, "not PEM at all\n").unwrap();
    let text = format!(
        "[sip]\nlisten = [\"tls:127.0.0.1:5061\"]\n[sip.tls]\ncertificate = {cert:?}\nprivate_key = {key:?}\n"
    );
    let e = load_text(&text, &[]).unwrap_err();
    assert_eq!(
        paths(&e),
        ["sip.tls.certificate", "sip.tls.private_key"],
        "{e}"
    );
    let shown = e.to_string();
    assert!(shown.contains("holds no PEM CERTIFICATE block"), "{e}");
    assert!(
        shown.contains("cannot read"),
        "the key file is missing: {e}"
    );

    let e = load_text("[sip.tls]\ncertificate = \"/etc/x.crt\"\n", &[]).unwrap_err();
    assert_eq!(paths(&e), ["sip.tls.private_key"], "{e}");
}

#[test]
fn trunk_pins_are_sha256_fingerprints_and_exclude_a_ca() {
    let pin = "AB:".repeat(31) + "AB";
    let c = load_text(
        &format!(
            "[[sip.trunks]]\nname = \"sbc\"\nallow = [\"192.0.2.1\"]\ntls_pins = [\"{pin}\", \"sha256:{}\"]\n",
            "cd".repeat(32)
        ),
        &[],
    )
    .unwrap();
    let pins = &c.sip.trunks[0].tls_pins;
    assert_eq!(pins[0].to_string(), pin);
    assert_eq!(pins[1].0, [0xcd; 32]);

    let e = load_text(
        "[[sip.trunks]]\nname = \"sbc\"\nallow = [\"192.0.2.1\"]\ntls_pins = [\"AB:CD\"]\n",
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("64 hex digits"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = load_text(
        &format!(
            "[[sip.trunks]]\nname = \"sbc\"\nallow = [\"192.0.2.1\"]\ntls_pins = [\"{pin}\"]\ntls_ca = {ca:?}\ntls_server_name = \"not a name\"\n"
        ),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        paths(&e),
        ["sip.trunks[0].tls_ca", "sip.trunks[0].tls_server_name"],
        "{e}"
    );
}

#[test]
fn whatsapp_calling_is_for_meta_accounts_only() {
    let account = |provider: &str, keys: &str| {
        let head = "[whatsapp]\ndefault_account = \"main\"\n[[whatsapp.accounts]]\nname = \"main\"";
        format!(
            "{head}\ncalling = true\nprovider = \"{provider}\"\nbusiness_number = \"+31201234567\"\n{keys}\n"
        )
    };
    let meta = account(
        "meta",
        "phone_number_id = \"106540352242922\"\naccess_token = \"t\"\napp_secret = \"s\"\nverify_token = \"v\"",
    );
    assert!(load_text(&meta, &[]).unwrap().whatsapp.accounts[0].calling);
    let twilio = account(
        "twilio",
        "account_sid = \"AC00000000000000000000000000000000\"\nauth_token = \"t\"",
    );
    let e = load_text(&twilio, &[]).unwrap_err();
    assert_eq!(paths(&e), ["whatsapp.accounts[0].calling"], "{e}");
    assert!(e.to_string().contains("only for provider \"meta\""), "{e}");
}
