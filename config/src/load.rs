//! Loading: defaults ⊕ file ⊕ environment → secret files → typed tree → validation.

use crate::Config;
use crate::problems::{ConfigError, Problem, Problems};
use crate::secret::{SECRET_KEYS, is_secret_key};
use std::collections::HashMap;
use std::path::Path;
use toml::{Table, Value};

/// Prefix of environment variables that override configuration keys.
const ENV_PREFIX: &str = "DEFLECT_";

/// `DEFLECT_*` variables that are not configuration keys (command-line options).
pub const RESERVED_ENV: &[&str] = &["DEFLECT_CONFIG", "DEFLECT_LOG", "DEFLECT_LOG_FORMAT"];

/// Loads the configuration from an optional TOML file and `DEFLECT_*` variables of the
/// process environment. See [`load`].
pub fn load_from_process(file: Option<&Path>) -> Result<Config, ConfigError> {
    let mut env = Vec::new();
    for (k, v) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        if !k.starts_with(ENV_PREFIX) {
            continue;
        }
        match v.into_string() {
            Ok(v) => env.push((k.to_string(), v)),
            Err(_) => {
                return Err(ConfigError::single(
                    format!("environment variable {k}"),
                    "is not valid UTF-8",
                ));
            }
        }
    }
    load(file, env)
}

/// Loads the configuration from an optional TOML file and the given environment variables
/// (only `DEFLECT_*` ones are looked at). Returns every problem found, or the validated tree.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut tree = Table::try_from(Config::default()).expect("the defaults serialize to a table");
    if let Some(path) = file {
        merge(&mut tree, read_file(path)?);
    }
    let mut loader = Loader::default();
    for (name, value) in env {
        if name.starts_with(ENV_PREFIX) && !RESERVED_ENV.contains(&name.as_str()) {
            loader.apply_env(&mut tree, &name, &value);
        }
    }
    loader.require_provider(&tree);
    loader.read_secret_files(&mut tree, &mut Vec::new());
    let config = loader.deserialize(tree);
    let mut problems = Problems::default();
    if let Some(config) = &config {
        config.validate(&mut problems);
    }
    let found: Vec<Problem> = problems
        .into_vec()
        .into_iter()
        .map(|p| loader.translated(p))
        .collect();
    loader.problems.extend(found);
    match config {
        Some(mut config) if loader.problems.is_empty() => {
            config.resolve();
            Ok(config)
        }
        _ => Err(ConfigError {
            problems: loader.problems,
        }),
    }
}

fn read_file(path: &Path) -> Result<Table, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::single(&shown, format!("cannot read the file: {e}")))?;
    text.parse::<Table>().map_err(|e| {
        // The error's own rendering quotes the offending line, which may hold a secret:
        // report the position and the message only.
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" at line {line}, column {col}")
            })
            .unwrap_or_default();
        ConfigError::single(shown, format!("not valid TOML{at}: {}", e.message()))
    })
}

/// Tables merge key by key; anything else (values, lists) replaces.
pub(crate) fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Index(usize),
}

fn show(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn parse_path(s: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in s.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Seg::Key(key.to_string()));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

fn get_mut<'a>(tree: &'a mut Table, path: &[Seg]) -> Option<&'a mut Value> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(k) = first else { return None };
    let mut cur = tree.get_mut(k)?;
    for seg in rest {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Table(t)) => t.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Where an environment variable put its value, so a type error can fall back to the plain
/// string and a problem can name the variable.
struct EnvOrigin {
    var: String,
    raw: String,
    as_string: bool,
}

#[derive(Default)]
struct Loader {
    problems: Vec<Problem>,
    env: HashMap<Vec<Seg>, EnvOrigin>,
    /// Original indices of list entries removed during recovery, per list (current path).
    removed: HashMap<Vec<Seg>, Vec<usize>>,
}

impl Loader {
    fn problem(&mut self, path: &[Seg], message: String) {
        let mut shown = self.translate(path);
        if let Some(origin) = self.env.get(path) {
            shown = format!("{shown} (from {})", origin.var);
        }
        self.problems.push(Problem {
            path: shown,
            message,
        });
    }

    /// Maps a path in the current tree back to indices as written by the operator.
    fn translate(&self, path: &[Seg]) -> String {
        let mut out = Vec::with_capacity(path.len());
        for (n, seg) in path.iter().enumerate() {
            match seg {
                Seg::Index(i) => {
                    let mut orig = *i;
                    if let Some(removed) = self.removed.get(&path[..n]) {
                        for r in removed {
                            if *r <= orig {
                                orig += 1;
                            }
                        }
                    }
                    out.push(Seg::Index(orig));
                }
                seg => out.push(seg.clone()),
            }
        }
        show(&out)
    }

    fn translated(&self, p: Problem) -> Problem {
        if self.removed.is_empty() {
            return p;
        }
        Problem {
            path: self.translate(&parse_path(&p.path)),
            message: p.message,
        }
    }

    fn apply_env(&mut self, tree: &mut Table, var: &str, raw: &str) {
        let segs: Vec<String> = var[ENV_PREFIX.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let mut fail = |message: String| {
            self.problems.push(Problem {
                path: format!("environment variable {var}"),
                message,
            })
        };
        if segs.iter().any(String::is_empty) {
            fail("is not a key path; write DEFLECT_SECTION__KEY, e.g. DEFLECT_HTTP__LISTEN".into());
            return;
        }
        let mut path = Vec::new();
        let mut cur = tree;
        let mut n = 0;
        while n + 1 < segs.len() {
            let seg = &segs[n];
            path.push(Seg::Key(seg.clone()));
            n += 1;
            let entry = cur
                .entry(seg.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            cur = match entry {
                Value::Table(t) => t,
                Value::Array(items) => {
                    if n + 1 >= segs.len() {
                        fail(format!(
                            "{} is a list: name an entry (by index or name) and a key in it",
                            show(&path)
                        ));
                        return;
                    }
                    let entry = &segs[n];
                    n += 1;
                    let index = match entry.parse::<usize>() {
                        Ok(i) if i <= items.len() => i,
                        Ok(i) => {
                            fail(format!(
                                "{} has {} entries; index {i} would leave a gap",
                                show(&path),
                                items.len()
                            ));
                            return;
                        }
                        Err(_) => {
                            let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
                            let found = items.iter().position(|it| {
                                it.get("name")
                                    .and_then(Value::as_str)
                                    .is_some_and(|name| norm(name) == *entry)
                            });
                            let Some(i) = found else {
                                fail(format!(
                                    "{} has no entry named {entry:?} (address entries by index or by name)",
                                    show(&path)
                                ));
                                return;
                            };
                            i
                        }
                    };
                    if index == items.len() {
                        items.push(Value::Table(Table::new()));
                    }
                    path.push(Seg::Index(index));
                    let Value::Table(t) = &mut items[index] else {
                        fail(format!("{} is not a list of sections", show(&path)));
                        return;
                    };
                    t
                }
                _ => {
                    fail(format!("{} is a value, not a section", show(&path)));
                    return;
                }
            };
        }
        let Some(key) = segs.get(n) else {
            return;
        };
        let value = parse_env_value(raw);
        let as_string = matches!(value, Value::String(_));
        // The variable overrides the other form of the same secret.
        if let Some(base) = key.strip_suffix("_file") {
            cur.remove(base);
        } else if SECRET_KEYS.contains(&key.as_str()) {
            cur.remove(&format!("{key}_file"));
        }
        cur.insert(key.clone(), value);
        path.push(Seg::Key(key.clone()));
        self.env.insert(
            path,
            EnvOrigin {
                var: var.to_string(),
                raw: raw.to_string(),
                as_string,
            },
        );
    }

    /// Every WhatsApp account must say which provider it uses; serde's default would hide
    /// a missing one.
    fn require_provider(&mut self, tree: &Table) {
        let accounts = tree
            .get("whatsapp")
            .and_then(|w| w.get("accounts"))
            .and_then(Value::as_array);
        for (i, a) in accounts.into_iter().flatten().enumerate() {
            if a.is_table() && a.get("provider").is_none() {
                self.problems.push(Problem {
                    path: format!("whatsapp.accounts[{i}].provider"),
                    message: format!(
                        "required; valid: {}",
                        crate::Provider::ALL.map(crate::Provider::as_str).join(", ")
                    ),
                });
            }
        }
    }

    /// Replaces every `<secret>_file = PATH` by `<secret> = <contents of PATH>`.
    fn read_secret_files(&mut self, table: &mut Table, path: &mut Vec<Seg>) {
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            if let Some(base) = key
                .strip_suffix("_file")
                .filter(|b| SECRET_KEYS.contains(b))
            {
                path.push(Seg::Key(key.clone()));
                let file = table.remove(&key);
                if table.contains_key(base) {
                    self.problem(path, format!("set either {base} or {key}, not both"));
                } else {
                    match file.as_ref().and_then(Value::as_str) {
                        Some(file) => match std::fs::read_to_string(file) {
                            Ok(s) => {
                                let s = s.strip_suffix('\n').unwrap_or(&s);
                                let s = s.strip_suffix('\r').unwrap_or(s);
                                table.insert(base.to_string(), Value::String(s.to_string()));
                            }
                            Err(e) => {
                                self.problem(path, format!("cannot read secret file {file:?}: {e}"))
                            }
                        },
                        None => self.problem(
                            path,
                            "expected the path of a file holding the secret".into(),
                        ),
                    }
                }
                path.pop();
                continue;
            }
            path.push(Seg::Key(key.clone()));
            match table.get_mut(&key) {
                Some(Value::Table(t)) => self.read_secret_files(t, path),
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        if let Value::Table(t) = item {
                            path.push(Seg::Index(i));
                            self.read_secret_files(t, path);
                            path.pop();
                        }
                    }
                }
                _ => {}
            }
            path.pop();
        }
    }

    /// Deserializes, recording and removing each failing key, until the tree fits.
    fn deserialize(&mut self, mut tree: Table) -> Option<Config> {
        // Each round removes a key or turns an environment value into a string, so the
        // number of rounds is bounded by the size of the tree; the cap guards against bugs.
        for _ in 0..10_000 {
            let err = match serde_path_to_error::deserialize::<_, Config>(tree.clone()) {
                Ok(config) => return Some(config),
                Err(err) => err,
            };
            let mut path: Vec<Seg> = Vec::new();
            for seg in err.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Map { key } => path.push(Seg::Key(key.clone())),
                    serde_path_to_error::Segment::Seq { index } => path.push(Seg::Index(*index)),
                    _ => break,
                }
            }
            let message = err.into_inner().message().to_string();
            if let Some(field) = unknown_field(&message)
                && path.last() != Some(&Seg::Key(field.to_string()))
            {
                path.push(Seg::Key(field.to_string()));
            }
            if let Some(origin) = self.env.get_mut(&path)
                && !origin.as_string
            {
                origin.as_string = true;
                let raw = Value::String(origin.raw.clone());
                if let Some(v) = get_mut(&mut tree, &path) {
                    *v = raw;
                    continue;
                }
            }
            let message = tidy(&message, &path);
            self.problem(&path, message);
            if !self.remove(&mut tree, &path) {
                return None;
            }
        }
        None
    }

    fn remove(&mut self, tree: &mut Table, path: &[Seg]) -> bool {
        let Some((last, parent)) = path.split_last() else {
            return false;
        };
        let container = if parent.is_empty() {
            return match last {
                Seg::Key(k) => tree.remove(k).is_some(),
                Seg::Index(_) => false,
            };
        } else {
            get_mut(tree, parent)
        };
        match (container, last) {
            (Some(Value::Table(t)), Seg::Key(k)) => t.remove(k).is_some(),
            (Some(Value::Array(a)), Seg::Index(i)) if *i < a.len() => {
                a.remove(*i);
                let orig = match parse_path(&self.translate(path)).last() {
                    Some(Seg::Index(o)) => *o,
                    _ => *i,
                };
                let list = self.removed.entry(parent.to_vec()).or_default();
                list.push(orig);
                list.sort_unstable();
                true
            }
            _ => false,
        }
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// serde's messages in the operator's words; secret values are never echoed.
fn tidy(message: &str, path: &[Seg]) -> String {
    let secret = matches!(path.last(), Some(Seg::Key(k)) if is_secret_key(k));
    if secret && unknown_field(message).is_none() {
        return "invalid value (not shown: it is a secret); expected a string".into();
    }
    message
        .replace("unknown field", "unknown key")
        .replace("unknown variant", "unknown value")
        .replace(", expected one of", "; valid:")
        .replace(", expected", "; expected")
}

/// Environment values are TOML when they parse as TOML (`30`, `true`, `["a", "b"]`), else
/// plain strings.
fn parse_env_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}
