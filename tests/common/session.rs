//! An agent's session in the running gateway, made with the command line and the login API.

use super::{Gateway, run_cli};

/// An agent's session in the running gateway: its cookie and CSRF token, and calls made
/// with them.
pub struct Session {
    pub addr: std::net::SocketAddr,
    pub cookie: String,
    pub csrf: String,
}

impl Session {
    /// Logs `username` in with `password`.
    pub fn login(addr: std::net::SocketAddr, username: &str, password: &str) -> Self {
        let body = serde_json::json!({ "username": username, "password": password }).to_string();
        let (status, headers, text) = super::request(
            addr,
            "POST",
            "/api/v1/session",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{text}");
        let cookie = headers
            .iter()
            .find(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.split(';').next().unwrap().to_string())
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let csrf = json["csrf"].as_str().unwrap().to_string();
        Self { addr, cookie, csrf }
    }

    /// Calls the API: (status, JSON answer; null when none).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", self.csrf.as_str()),
            ("Content-Type", "application/json"),
        ];
        let (status, _, text) = super::request(self.addr, method, path, &headers, body.as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Agent `username` (queue `default`, WhatsApp account `account`) added with the command
/// line and logged in (offline).
pub fn agent(gw: &Gateway, username: &str, account: &str) -> Session {
    member(gw, username, account, "agent")
}

/// As [`agent`], with `role` (`agent`, `supervisor` or `admin`).
pub fn member(gw: &Gateway, username: &str, account: &str, role: &str) -> Session {
    let pw = gw.dir().join("password");
    std::fs::write(&pw, "correct horse battery\n").unwrap();
    let conf = gw.dir().join("deflect.toml");
    let data = gw.data_dir();
    let (code, out, err) = run_cli(
        &[
            "agent",
            "add",
            "--config",
            conf.to_str().unwrap(),
            "--username",
            username,
            "--role",
            role,
            "--queue",
            "default",
            "--account",
            account,
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &[("DEFLECT_DATA_DIR", data.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{out}{err}");
    Session::login(gw.http_addr(), username, "correct horse battery")
}
