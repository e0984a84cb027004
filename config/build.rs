//! The built-in prompts, from their lists: `media/prompts/<language>/prompts.txt`.
//!
//! Each file (`<name>|<text>` per line) is what `scripts/generate-prompts` speaks into
//! `media/prompts/<language>/<name>.wav`. The English list is the one list of the names
//! flows may use; every other language must list all of those, and may list more that
//! only it needs (French reads numbers in pairs, so it has `number_10` … `number_99`).
//! This script turns them into `$OUT_DIR/builtin_prompts.rs`, included by `src/ivr.rs`:
//! the constants `BUILTIN_PROMPTS` (the names the configuration check takes),
//! `BUILTIN_PROMPT_LANGUAGES` and `BUILTIN_LANGUAGE_PROMPTS` (the extra ones, by language),
//! and the macro `for_each_builtin_prompt!` with which `deflect-media` compiles the WAV
//! files in. So adding a prompt is a line in each file and the script run; adding a
//! language is a directory with its list and the script run, nothing else.
//!
//! A name that is not `[a-z0-9_]+`, a name listed twice, an empty list or a language
//! missing one of English's names stops the build with the line or names at fault.

use std::path::Path;

const DIR: &str = "../media/prompts";
const NAMES_FROM: &str = "en";

fn main() {
    println!("cargo:rerun-if-changed={DIR}");
    let mut languages: Vec<String> = std::fs::read_dir(DIR)
        .unwrap_or_else(|e| panic!("cannot read the built-in prompts {DIR}: {e}"))
        .filter_map(Result::ok)
        .filter(|e| e.path().join("prompts.txt").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    languages.sort();
    let list = |language: &str| {
        let path = format!("{DIR}/{language}/prompts.txt");
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read the built-in prompt list {path}: {e}"));
        match names(&text) {
            Ok(n) => n.into_iter().map(str::to_owned).collect::<Vec<String>>(),
            Err(e) => panic!("{path}: {e}"),
        }
    };
    let names = list(NAMES_FROM);
    let mut pairs = Vec::new();
    let mut own = Vec::new();
    for language in &languages {
        let listed = list(language);
        let missing: Vec<&String> = names.iter().filter(|n| !listed.contains(n)).collect();
        if !missing.is_empty() {
            panic!(
                "{DIR}/{language}/prompts.txt must list every prompt {DIR}/{NAMES_FROM}/prompts.txt \
                 lists: missing {missing:?}"
            );
        }
        pairs.extend(listed.iter().map(|n| format!("({language:?}, {n:?})")));
        own.extend(
            (listed.iter())
                .filter(|n| !names.contains(n))
                .map(|n| format!("({language:?}, {n:?})")),
        );
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let quoted_languages: Vec<String> = languages.iter().map(|l| format!("{l:?}")).collect();
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let code = format!(
        "/// Prompts every installation has (made by `scripts/generate-prompts` from\n\
         /// `media/prompts/<language>/prompts.txt`; this list is English's), by name.\n\
         /// A flow may also name its own prompts, found as `<name>.wav` in its `prompts_dir`\n\
         /// or in `ivr.prompts_dir/<language>/`.\n\
         pub const BUILTIN_PROMPTS: &[&str] = &[{list}];\n\
         \n\
         /// The languages every built-in prompt is recorded in.\n\
         pub const BUILTIN_PROMPT_LANGUAGES: &[&str] = &[{languages}];\n\
         \n\
         /// Built-in prompts only some languages have, as `(language, name)`: what their\n\
         /// way of speaking needs (French's `number_10` … `number_99` for pair-wise\n\
         /// read-back). Flows do not name them.\n\
         pub const BUILTIN_LANGUAGE_PROMPTS: &[(&str, &str)] = &[{own}];\n\
         \n\
         /// Calls `$callback!` with every built-in prompt as `(language, name)` string\n\
         /// literals (for code that needs them as literals, e.g. `include_bytes!`).\n\
         #[macro_export]\n\
         macro_rules! for_each_builtin_prompt {{\n    \
             ($callback:ident) => {{ $callback![{pairs}] }};\n\
         }}\n",
        list = quoted.join(", "),
        languages = quoted_languages.join(", "),
        pairs = pairs.join(", "),
        own = own.join(", "),
    );
    std::fs::write(Path::new(&out).join("builtin_prompts.rs"), code).expect("OUT_DIR is writable");
}

/// The names of a prompt list: one `<name>|<text>` per line; blank lines and `#` comments
/// are skipped.
fn names(text: &str) -> Result<Vec<&str>, String> {
    let mut names: Vec<&str> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, spoken)) = line.split_once('|') else {
            return Err(format!("line {at}: expected <name>|<text>, got {line:?}"));
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!(
                "line {at}: {name:?} is not a prompt name (lower-case letters, digits, '_')"
            ));
        }
        if spoken.trim().is_empty() {
            return Err(format!("line {at}: prompt {name:?} has no text"));
        }
        if names.contains(&name) {
            return Err(format!("line {at}: prompt {name:?} is listed twice"));
        }
        names.push(name);
    }
    if names.is_empty() {
        return Err("lists no prompt".into());
    }
    Ok(names)
}
