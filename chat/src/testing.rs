//! Test support (feature `testing`): a throwaway PostgreSQL server and fresh databases on it,
//! and a throwaway S3 server.
//!
//! [`postgres_database`] gives each test its own database on a server shared by the whole
//! test run: the first test process to ask runs `initdb` and `postgres` (from the Debian
//! package, `/usr/lib/postgresql/*/bin`) in a temporary directory, listening only on a unix
//! socket in that directory. PostgreSQL refuses to run as root, so as root the server runs as
//! the `postgres` user in a directory that user owns. Under cargo-nextest (one process per
//! test) the server is shared by every test of the run (keyed by `NEXTEST_RUN_ID`) and a
//! small watchdog stops it and removes the directory when the run's process ends; under
//! `cargo test` it is shared by the test binary.
//!
//! [`S3Server`] is a throwaway S3 server: moto's (`moto_server`, from PyPI, which
//! `scripts/test` installs), one per test, on a free loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use deflect_config::DatabaseUrl;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The PostgreSQL server binaries directory, if the package is installed.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `cmd` as the postgres user when root.
fn as_postgres(bin: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

/// The shared server's directory (socket and data).
fn server_dir() -> PathBuf {
    let key = std::env::var("NEXTEST_RUN_ID")
        .map(|id| {
            id.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(12)
                .collect()
        })
        .unwrap_or_else(|_| std::process::id().to_string());
    std::env::temp_dir().join(format!("deflect-pg-{key}"))
}

/// The process whose end stops the server: nextest's runner, or this test binary.
fn owner_pid() -> u32 {
    if std::env::var("NEXTEST_RUN_ID").is_ok() {
        std::os::unix::process::parent_id()
    } else {
        std::process::id()
    }
}

fn ensure_server() -> PathBuf {
    let dir = server_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .unwrap();
    lock.lock().unwrap();
    let ready = dir.join("ready");
    if !ready.exists() {
        start_server(&dir);
        File::create(&ready).unwrap();
    }
    drop(lock);
    dir
}

fn bin_dir() -> PathBuf {
    postgres_bin_dir().expect(
        "PostgreSQL is not installed (Debian package `postgresql`; scripts/test installs it)",
    )
}

/// Creates a cluster in `dir`/data that the postgres user (when root) owns.
fn initdb(dir: &Path) {
    let bin = bin_dir();
    let data = dir.join("data");
    if is_root() {
        let st = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "chown of {} failed", dir.display());
        // The postgres user must reach the directory.
        let _ = Command::new("chmod").arg("755").arg(dir).status();
    }
    let out = as_postgres(
        &bin.join("initdb"),
        &[
            "-D",
            data.to_str().unwrap(),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    )
    .stdout(Stdio::null())
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The server's settings: only a unix socket in `dir`; durability off where a test server
/// does not need it.
const SERVER_OPTIONS: &str = "-c listen_addresses='' -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB";

fn start_server(dir: &Path) {
    initdb(dir);
    let bin = bin_dir();
    let data = dir.join("data");
    let socket = dir.to_str().unwrap();
    let log = dir.join("postgres.log");
    // The server and a watchdog that stops it (and removes the directory) once the test
    // run's process is gone.
    let script = format!(
        "{postgres} -D {data} -k {socket} {SERVER_OPTIONS} >> {log} 2>&1 & pg=$!; \
         while [ -d /proc/{owner} ] && kill -0 $pg 2>/dev/null; do sleep 1; done; \
         kill -INT $pg 2>/dev/null; wait $pg; rm -rf {dir}",
        postgres = bin.join("postgres").display(),
        data = data.display(),
        log = log.display(),
        owner = owner_pid(),
        dir = dir.display(),
    );
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &script]);
        c
    };
    // Detached on purpose: the watchdog outlives this test process and ends on its own.
    let _watchdog = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::mem::forget(_watchdog);
    wait_ready(dir);
}

/// Waits until the server in `dir` accepts connections.
fn wait_ready(dir: &Path) {
    let bin = bin_dir();
    let socket = dir.to_str().unwrap();
    let log = dir.join("postgres.log");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = Command::new(bin.join("pg_isready"))
            .args(["-h", socket, "-U", "postgres", "-q"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not start; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // pg_isready has no wait-until form with a socket directory in every version.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A PostgreSQL server of one test's own, which it may stop and start again (a database
/// restart under load); stopped and removed when dropped.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
}

impl PrivatePostgres {
    /// Creates and starts it.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("deflect-pg-own-")
            .tempdir()
            .unwrap();
        initdb(dir.path());
        let pg = Self { dir };
        pg.up();
        pg
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let mut all = vec!["-D", data.to_str().unwrap(), "-w", "-t", "60"];
        all.extend_from_slice(args);
        let out = as_postgres(&bin_dir().join("pg_ctl"), &all)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again). Unlike the shared test server it is durable (fsync and
    /// synchronous commits on): a crash loses nothing committed.
    pub fn up(&self) {
        let options = format!(
            "-k {} -c listen_addresses='' -c max_connections=100",
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        self.pg_ctl(&["-o", &options, "-l", log.to_str().unwrap(), "start"]);
        wait_ready(self.dir.path());
    }

    /// Stops the server the way a crash does: every connection cut at once, no checkpoint.
    pub fn crash(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }

    /// The URL of database `name` on it (created by [`PrivatePostgres::create`]).
    pub fn url(&self, name: &str) -> DatabaseUrl {
        format!(
            "postgres://postgres@localhost/{name}?host={}",
            self.dir.path().display()
        )
        .parse()
        .unwrap()
    }

    /// Creates an empty database; returns its URL.
    pub async fn create(&self, name: &str) -> DatabaseUrl {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let admin = self.url("postgres");
        let mut conn = sqlx::AnyConnection::connect(admin.expose()).await.unwrap();
        sqlx::query(sql!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        self.url(name)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(
            &bin_dir().join("pg_ctl"),
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    }
}

/// A new, empty database on the shared throwaway server.
pub async fn postgres_database() -> DatabaseUrl {
    let dir = tokio::task::spawn_blocking(ensure_server).await.unwrap();
    let name = format!("t_{}", crate::model::random_token(12).to_lowercase());
    let admin = format!(
        "postgres://postgres@localhost/postgres?host={}",
        dir.display()
    );
    let admin: DatabaseUrl = admin.parse().unwrap();
    sqlx::any::install_default_drivers();
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(admin.expose()).await.unwrap();
    sqlx::query(sql!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    format!(
        "postgres://postgres@localhost/{name}?host={}",
        dir.display()
    )
    .parse()
    .unwrap()
}

/// A new SQLite database file in `dir`.
pub fn sqlite_database(dir: &Path) -> DatabaseUrl {
    format!("sqlite://{}/deflect.db", dir.display())
        .parse()
        .unwrap()
}

/// Where moto's S3 server is: `MOTO_SERVER`, else where `scripts/test` installs it
/// (`~/.cache/deflect/moto/bin/moto_server`, under `XDG_CACHE_HOME` when set).
pub fn moto_server_path() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_default();
    cache.join("deflect/moto/bin/moto_server")
}

/// A throwaway S3 server (moto's), listening on a free port of 127.0.0.1; stopped when
/// dropped. It keeps everything in memory and takes any credentials.
#[derive(Debug)]
pub struct S3Server {
    child: std::process::Child,
    endpoint: url::Url,
    output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl S3Server {
    /// Starts it (about a second). Panics when moto is not installed: `scripts/test`
    /// installs it.
    pub fn start() -> Self {
        use std::io::{BufRead, BufReader, Read};
        let bin = moto_server_path();
        assert!(
            bin.is_file(),
            "moto's S3 server is not at {} (set MOTO_SERVER to a moto_server); scripts/test \
             installs it (install_moto in scripts/lib.sh)",
            bin.display()
        );
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        // Both outputs are read to their end: moto logs every request, and a full pipe would
        // stall it. Its "Running on http://127.0.0.1:PORT" line says where it listens.
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (found, address) = std::sync::mpsc::channel();
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for pipe in pipes {
            let (found, output) = (found.clone(), output.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(url) = line.split("Running on ").nth(1) {
                        let _ = found.send(url.trim().to_string());
                    }
                    let mut kept = output.lock().unwrap();
                    if kept.len() < 200 {
                        kept.push(line);
                    }
                }
            });
        }
        drop(found);
        let mut server = Self {
            child,
            endpoint: url::Url::parse("http://127.0.0.1/").unwrap(),
            output,
        };
        // Ends early when moto exits (both pipes closed) without having started.
        match address.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => server.endpoint = url::Url::parse(&url).unwrap(),
            Err(_) => panic!("moto_server did not start:\n{}", server.output()),
        }
        server
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &url::Url {
        &self.endpoint
    }

    /// What it printed so far (the first 200 lines), for a failing test's message.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, bucket: &str) {
        let url = self.endpoint.join(bucket).unwrap();
        let response = crate::provider::http_client()
            .put(url)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "creating bucket {bucket}: {}",
            response.status()
        );
    }

    /// The keys of every object in `bucket`, in order.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        self.listed(bucket, "list-type=2", "Key").await
    }

    /// The ids of the multipart uploads started and neither completed nor aborted in
    /// `bucket`.
    pub async fn open_uploads(&self, bucket: &str) -> Vec<String> {
        self.listed(bucket, "uploads", "UploadId").await
    }

    /// The headers of the object `key` in `bucket`.
    pub async fn head(&self, bucket: &str, key: &str) -> reqwest::header::HeaderMap {
        let url = self.endpoint.join(&format!("{bucket}/{key}")).unwrap();
        // Objects are private: moto wants a signed request, but checks no signature.
        let response = crate::provider::http_client()
            .head(url)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "HEAD {key}: {}",
            response.status()
        );
        response.headers().clone()
    }

    /// The `<element>` values of a bucket listing (`query`), which stays below 1000 entries in
    /// tests.
    async fn listed(&self, bucket: &str, query: &str, element: &str) -> Vec<String> {
        let mut url = self.endpoint.join(bucket).unwrap();
        url.set_query(Some(query));
        let response = crate::provider::http_client()
            .get(url)
            .send()
            .await
            .unwrap();
        let body = response.text().await.unwrap();
        let (open, close) = (format!("<{element}>"), format!("</{element}>"));
        body.split(&open)
            .skip(1)
            .filter_map(|rest| rest.split(&close).next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
