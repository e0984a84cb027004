//! Lexical helpers of the RFC 3261 §25 grammar shared by the header and URI parsers:
//! token characters, linear white space, quoted strings, generic parameters and
//! comma-separated lists that respect quotes and angle brackets.

use super::ParseError;

/// RFC 3261 `token` character: alphanumerics and `-.!%*_+`'~`.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Whether `s` is a non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Skips spaces and tabs (folding was already turned into a space).
pub(crate) fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Parses a quoted string at the start of `s` (which begins with `"`); returns the
/// unescaped content and the rest after the closing quote.
pub(crate) fn quoted_string(s: &str) -> Result<(String, &str), ParseError> {
    let bytes = s.as_bytes();
    debug_assert_eq!(bytes.first(), Some(&b'"'));
    let mut out = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let text = String::from_utf8(out)
                    .map_err(|_| ParseError::syntax("quoted string is not UTF-8"))?;
                return Ok((text, &s[i + 1..]));
            }
            b'\\' => {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                let next = *bytes
                    .get(i + 1)
                    .ok_or_else(|| ParseError::syntax("unterminated quoted string"))?;
                if next == b'\r' || next == b'\n' || next > 0x7f {
                    return Err(ParseError::syntax("invalid quoted pair"));
                }
                out.push(next);
                i += 2;
            }
            b'\r' | b'\n' => return Err(ParseError::syntax("line break in quoted string")),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err(ParseError::syntax("unterminated quoted string"))
}

/// Writes `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A `name[=value]` parameter; values keep their quotes when they were quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Parameter name as written.
    pub name: String,
    /// Value as written (quoted strings keep their quotes), if any.
    pub value: Option<String>,
}

/// An ordered parameter list with case-insensitive lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// The value of `name` (`Some("")` for a parameter without a value), quotes removed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| {
                let v = p.value.as_deref().unwrap_or("");
                v.strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v)
            })
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Sets (replacing) `name`.
    pub fn set(&mut self, name: &str, value: Option<String>) {
        if let Some(p) = self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            p.value = value;
        } else {
            self.0.push(Param {
                name: name.to_owned(),
                value,
            });
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.0 {
            match &p.value {
                Some(v) => write!(f, ";{}={}", p.name, v)?,
                None => write!(f, ";{}", p.name)?,
            }
        }
        Ok(())
    }
}

/// Parses header parameters `*( SWS ";" SWS generic-param )` until the end of `s`.
/// generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string.
pub(crate) fn header_params(mut s: &str) -> Result<Params, ParseError> {
    let mut params = Vec::new();
    loop {
        s = skip_ws(s);
        if s.is_empty() {
            return Ok(Params(params));
        }
        s = s
            .strip_prefix(';')
            .ok_or_else(|| ParseError::syntax("expected ';' before a parameter"))?;
        s = skip_ws(s);
        let end = s.find(|c: char| !is_token_char_c(c)).unwrap_or(s.len());
        let name = &s[..end];
        if name.is_empty() {
            return Err(ParseError::syntax("empty parameter"));
        }
        s = skip_ws(&s[end..]);
        let value = if let Some(rest) = s.strip_prefix('=') {
            let rest = skip_ws(rest);
            if rest.starts_with('"') {
                let (_, after) = quoted_string(rest)?;
                let raw = &rest[..rest.len() - after.len()];
                s = after;
                Some(raw.to_owned())
            } else {
                // token / host (IPv6 references included)
                let end = rest
                    .find(|c: char| !(is_token_char_c(c) || "[]:".contains(c)))
                    .unwrap_or(rest.len());
                if end == 0 {
                    return Err(ParseError::syntax("empty parameter value"));
                }
                s = &rest[end..];
                Some(rest[..end].to_owned())
            }
        } else {
            None
        };
        params.push(Param {
            name: name.to_owned(),
            value,
        });
    }
}

fn is_token_char_c(c: char) -> bool {
    c.is_ascii() && is_token_char(c as u8)
}

/// Splits a header value at top-level commas (not inside quotes or `<…>`).
pub(crate) fn split_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0u32;
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quoted_strings_unescape_and_reject_unterminated() {
        let (v, rest) = quoted_string(r#""J Rosenberg \\\"" <x>"#).unwrap();
        assert_eq!(v, r#"J Rosenberg \""#);
        assert_eq!(rest, " <x>");
        assert!(quoted_string("\"Mr. J. User <sip:j@x>").is_err());
    }

    #[test]
    fn params_allow_spaces_and_reject_empty_ones() {
        let p = header_params(" ;   tag    = 1918181833n").unwrap();
        assert_eq!(p.get("TAG"), Some("1918181833n"));
        assert!(header_params(";;tag=1").is_err());
        let p = header_params(";received=[2001:db8::9]").unwrap();
        assert_eq!(p.get("received"), Some("[2001:db8::9]"));
    }

    #[test]
    fn commas_inside_quotes_and_brackets_do_not_split() {
        let v = split_commas(r#""Bell, A" <sip:a@x;p=1,2>, <sip:b@y>"#);
        assert_eq!(v, vec![r#""Bell, A" <sip:a@x;p=1,2>"#, "<sip:b@y>"]);
    }
}
