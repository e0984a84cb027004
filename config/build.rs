//! The built-in prompt names, from their one list: `media/prompts/en/prompts.txt`.
//!
//! That file (`<name>|<text>` per line) is what `scripts/generate-prompts` speaks into
//! `media/prompts/en/<name>.wav`. This script turns its names into
//! `$OUT_DIR/builtin_prompts.rs`, included by `src/ivr.rs`: the constant
//! `BUILTIN_PROMPTS` the configuration check takes prompt names from, and the macro
//! `for_each_builtin_prompt!` with which `deflect-media` compiles the WAV files in. So adding
//! a prompt is a line in the file and the script run, nothing else.
//!
//! A name that is not `[a-z0-9_]+`, a name listed twice or an empty list stops the build
//! with the line at fault.

use std::path::Path;

const LIST: &str = "../media/prompts/en/prompts.txt";

fn main() {
    println!("cargo:rerun-if-changed={LIST}");
    let text = std::fs::read_to_string(LIST)
        .unwrap_or_else(|e| panic!("cannot read the built-in prompt list {LIST}: {e}"));
    let names = match names(&text) {
        Ok(n) => n,
        Err(e) => panic!("{LIST}: {e}"),
    };
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let code = format!(
        "/// Prompts every installation has (English, made by `scripts/generate-prompts` from\n\
         /// `media/prompts/en/prompts.txt`, which this list is generated from), by name.\n\
         /// A flow may also name its own prompts, found as `<name>.wav` in its `prompts_dir`\n\
         /// or in `ivr.prompts_dir/<language>/`.\n\
         pub const BUILTIN_PROMPTS: &[&str] = &[{list}];\n\
         \n\
         /// Calls `$callback!` with the built-in prompt names as string literals, in the\n\
         /// order of `media/prompts/en/prompts.txt` (for code that needs them as literals,\n\
         /// e.g. `include_bytes!`).\n\
         #[macro_export]\n\
         macro_rules! for_each_builtin_prompt {{\n    \
             ($callback:ident) => {{ $callback![{list}] }};\n\
         }}\n",
        list = quoted.join(", ")
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
