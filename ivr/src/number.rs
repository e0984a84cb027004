//! Callback numbers: what a caller typed, said, or called from, turned into an E.164 number
//! a WhatsApp message can go to — or a reason it cannot, which the caller hears.
//!
//! Parsing and classification use `phonenumber` (a port of Google's libphonenumber with its
//! metadata, 9.0.33 at the time of writing; maintained by the whisperfish project, with
//! property tests and fuzzing). Writing number plans by hand would be wrong within months.
//! The parser once panicked on odd punctuation (whisperfish/rust-phonenumber#43, fixed);
//! this module only ever hands it a `+` and digits, which the test below exercises widely.

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber, Type};
use std::fmt;

/// A number a WhatsApp message can go to: valid, mobile-capable, in an allowed country, and
/// E.164 as the inbox checks it (`deflect_config::is_e164`, the one owner of that check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackNumber {
    e164: String,
    /// The national form in its groups, one space apart (`06 12345678`).
    national: String,
    /// The international form in its groups (`+31 6 12345678`).
    international: String,
    country: Id,
}

impl CallbackNumber {
    /// `+` and digits, e.g. `+31612345678`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// ISO 3166 country of the number.
    pub fn country(&self) -> &str {
        self.country.as_ref()
    }

    /// What to read back to a caller whose flow is in `country`: the national form for a
    /// domestic number, the international one otherwise, in the groups the number plan
    /// writes it in (libphonenumber's formats), one space between groups — `06 12345678`,
    /// `06 12 34 56 78` in France, `010 1234 5678` in Korea, `+49 1512 3456789` — so the
    /// read-back pauses where a native speaker would.
    pub fn spoken(&self, country: Id) -> &str {
        if self.country == country {
            &self.national
        } else {
            &self.international
        }
    }
}

impl fmt::Display for CallbackNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

/// A formatted number's digits (and `+`) with one space wherever the format separates
/// them: `(201) 555-0123` → `201 555 0123`.
fn groups(formatted: &str) -> String {
    let mut out = String::with_capacity(formatted.len());
    for c in formatted.chars() {
        if c.is_ascii_digit() || c == '+' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// One word of a number read back to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Word {
    /// `+` of an international number.
    Plus,
    /// One digit, 0–9.
    Digit(u8),
    /// A two-digit group said as one number, 10–99.
    Pair(u8),
    /// The pause between two groups.
    Pause,
}

/// The words reading a [`CallbackNumber::spoken`] form back: digit by digit, or, when
/// `pairs` (French: `06 12 34 56 78` is "zéro six, douze, trente-quatre, …"), each
/// two-digit group that does not start with 0 as one number.
pub(crate) fn read_back(spoken: &str, pairs: bool) -> Vec<Word> {
    let mut words = Vec::with_capacity(spoken.len());
    for (i, group) in spoken.split(' ').enumerate() {
        if i > 0 {
            words.push(Word::Pause);
        }
        let digits = match group.strip_prefix('+') {
            Some(rest) => {
                words.push(Word::Plus);
                rest
            }
            None => group,
        };
        let values: Vec<u8> = digits
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        match values[..] {
            [tens @ 1..=9, units] if pairs => words.push(Word::Pair(tens * 10 + units)),
            _ => words.extend(values.into_iter().map(Word::Digit)),
        }
    }
    words
}

/// Why a number cannot be a callback number. Each has its own spoken explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a phone number at all (letters, nothing, …).
    #[error("not a phone number")]
    NotANumber,
    /// A short code (emergency, service, SMS short codes): too few digits.
    #[error("a short code")]
    ShortCode,
    /// Premium-rate, shared-cost or universal-access numbers.
    #[error("a premium-rate or shared-cost number")]
    PremiumRate,
    /// Parses, but no such number exists in the country's plan, or it is not an E.164
    /// number the inbox takes (`deflect_config::is_e164`).
    #[error("not a valid number")]
    Invalid,
    /// Valid, but a fixed line, toll-free, pager, … that WhatsApp cannot reach.
    #[error("not a mobile number")]
    NotMobile,
    /// Valid mobile, but in a country `ivr.limits.allowed_countries` does not list.
    #[error("in a country deflections may not go to")]
    CountryNotAllowed,
}

impl Rejection {
    /// Stable name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotANumber => "not_a_number",
            Self::ShortCode => "short_code",
            Self::PremiumRate => "premium_rate",
            Self::Invalid => "invalid",
            Self::NotMobile => "not_mobile",
            Self::CountryNotAllowed => "country_not_allowed",
        }
    }
}

/// Numbers of at most this many digits (without a country code) are short codes.
const SHORT_CODE_MAX_DIGITS: usize = 6;

/// How numbers are read for one flow: its country and the allowed countries.
#[derive(Clone, Debug)]
pub struct NumberRules {
    country: Id,
    allowed: Vec<Id>,
}

/// A country code that `phonenumber` does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a country the phone number metadata knows")]
pub struct UnknownCountry(pub String);

impl NumberRules {
    /// Rules for numbers entered in `country`, allowed to go to `allowed` (empty: all).
    pub fn new(country: &str, allowed: &[String]) -> Result<Self, UnknownCountry> {
        let id = |c: &str| c.parse::<Id>().map_err(|_| UnknownCountry(c.to_string()));
        // The metadata is decoded on first use (tens of milliseconds): do it here, at
        // start-up, and never on a call.
        let _ = phonenumber::parse(Some(Id::NL), "+31612345678");
        Ok(Self {
            country: id(country)?,
            allowed: allowed.iter().map(|c| id(c)).collect::<Result<_, _>>()?,
        })
    }

    /// The flow's country.
    pub fn country(&self) -> Id {
        self.country
    }

    /// Reads `input` — DTMF digits (a leading `*` stands for `+`), spoken digits, or a SIP
    /// user part (visual separators `-`, `.`, `(`, `)`, spaces and URI parameters after `;`
    /// are ignored) — as a callback number.
    pub fn callback_number(&self, input: &str) -> Result<CallbackNumber, Rejection> {
        self.classify(&self.parse(input)?)
    }

    /// A calling number read once: its E.164 form where it parses (for limits and the
    /// deflection's `caller`), and the callback number it makes if it is one.
    pub fn caller(&self, input: &str) -> (Option<String>, Option<CallbackNumber>) {
        match self.parse(input) {
            Ok(number) => {
                let callback = self.classify(&number).ok();
                let e164 = callback
                    .as_ref()
                    .map(|c| c.e164.clone())
                    .unwrap_or_else(|| number.format().mode(Mode::E164).to_string());
                (Some(e164), callback)
            }
            Err(_) => (None, None),
        }
    }

    fn parse(&self, input: &str) -> Result<PhoneNumber, Rejection> {
        let digits = clean(input).ok_or(Rejection::NotANumber)?;
        let bare = digits.trim_start_matches('+');
        if bare.len() <= SHORT_CODE_MAX_DIGITS {
            return Err(if bare.is_empty() {
                Rejection::NotANumber
            } else {
                Rejection::ShortCode
            });
        }
        let number =
            phonenumber::parse(Some(self.country), &digits).map_err(|_| Rejection::Invalid)?;
        if number.extension().is_some() {
            return Err(Rejection::Invalid);
        }
        Ok(number)
    }

    fn classify(&self, number: &PhoneNumber) -> Result<CallbackNumber, Rejection> {
        let database = &*phonenumber::metadata::DATABASE;
        let kind = number.number_type(database);
        match kind {
            Type::PremiumRate | Type::SharedCost | Type::Uan => return Err(Rejection::PremiumRate),
            Type::ShortCode | Type::Emergency => return Err(Rejection::ShortCode),
            _ => {}
        }
        if !number.is_valid_with(database) {
            return Err(Rejection::Invalid);
        }
        if !matches!(kind, Type::Mobile | Type::FixedLineOrMobile) {
            return Err(Rejection::NotMobile);
        }
        let country = number.country().id().ok_or(Rejection::Invalid)?;
        if !self.allowed.is_empty() && !self.allowed.contains(&country) {
            return Err(Rejection::CountryNotAllowed);
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        // The one E.164 check, shared with the inbox, which refuses any other number: a
        // number valid in its plan but shorter (Tokelau's four-digit mobiles) cannot be
        // deflected.
        if !deflect_config::is_e164(&e164) {
            return Err(Rejection::Invalid);
        }
        let national = groups(&number.format().mode(Mode::National).to_string());
        let international = groups(&number.format().mode(Mode::International).to_string());
        Ok(CallbackNumber {
            e164,
            national,
            international,
            country,
        })
    }

    /// The E.164 form of a dialled or calling number, valid or not, for matching and limit
    /// keys; `None` when it does not parse as a number.
    pub fn e164(&self, input: &str) -> Option<String> {
        let number = self.parse(input).ok()?;
        Some(number.format().mode(Mode::E164).to_string())
    }
}

/// `+` (or a leading `*`) and digits, or `None` when anything else is in the number.
fn clean(input: &str) -> Option<String> {
    let input = input.split(';').next().unwrap_or_default().trim();
    let input = input.strip_prefix("tel:").unwrap_or(input);
    let mut out = String::with_capacity(input.len());
    for (i, c) in input.chars().enumerate() {
        match c {
            '0'..='9' => out.push(c),
            '+' | '*' if i == 0 => out.push('+'),
            '-' | '.' | '(' | ')' | ' ' => {}
            _ => return None,
        }
    }
    if out.len() > 20 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl() -> NumberRules {
        NumberRules::new("NL", &[]).unwrap()
    }

    #[test]
    fn national_and_international_forms_normalise_to_e164() {
        let r = nl();
        for input in [
            "0612345678",
            "+31612345678",
            "0031612345678",
            "*31612345678",
            "06-1234 5678",
        ] {
            let n = r
                .callback_number(input)
                .unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.e164(), "+31612345678", "{input}");
            assert_eq!(n.country(), "NL");
            assert_eq!(n.spoken(Id::NL), "06 12345678");
        }
        let be = r.callback_number("0032470123456").unwrap();
        assert_eq!(be.e164(), "+32470123456");
        assert_eq!(be.spoken(Id::NL), "+32 470 12 34 56");
        // A SIP user part with a phone-context parameter.
        let sip = r
            .callback_number("+31612345678;phone-context=example.com")
            .unwrap();
        assert_eq!(sip.e164(), "+31612345678");
    }

    #[test]
    fn fixed_lines_premium_rate_and_short_codes_are_rejected_with_their_reason() {
        let r = nl();
        assert_eq!(r.callback_number("0201234567"), Err(Rejection::NotMobile)); // Amsterdam landline
        assert_eq!(r.callback_number("0800123456"), Err(Rejection::NotMobile)); // toll free
        assert_eq!(r.callback_number("0906123456"), Err(Rejection::PremiumRate));
        assert_eq!(r.callback_number("0909123456"), Err(Rejection::PremiumRate));
        assert_eq!(r.callback_number("112"), Err(Rejection::ShortCode));
        assert_eq!(r.callback_number("144144"), Err(Rejection::ShortCode));
        assert_eq!(r.callback_number("0612"), Err(Rejection::ShortCode));
        assert_eq!(r.callback_number("06123456789012"), Err(Rejection::Invalid));
        assert_eq!(r.callback_number("0699999999"), Err(Rejection::Invalid));
        assert_eq!(r.callback_number(""), Err(Rejection::NotANumber));
        assert_eq!(r.callback_number("anonymous"), Err(Rejection::NotANumber));
        assert_eq!(
            r.callback_number("+44 909 8790000"),
            Err(Rejection::PremiumRate)
        );
    }

    #[test]
    fn the_country_allow_list_applies_to_valid_mobiles() {
        let r = NumberRules::new("NL", &["NL".into(), "BE".into()]).unwrap();
        assert!(r.callback_number("0612345678").is_ok());
        assert!(r.callback_number("+32470123456").is_ok());
        assert_eq!(
            r.callback_number("+4915123456789"),
            Err(Rejection::CountryNotAllowed)
        );
        assert!(NumberRules::new("XX", &[]).is_err());
    }

    #[test]
    fn every_callback_number_is_one_the_inbox_takes() {
        // Tokelau's mobile numbers have four to seven digits: +690 7290 is a valid mobile
        // number, but shorter than the E.164 numbers the inbox (and WhatsApp's wa.me links)
        // take, deflect_config::is_e164. Accepted here, its deflection could never be
        // handed off; the caller hears that it is not a valid number instead.
        let r = nl();
        assert_eq!(r.callback_number("+6907290"), Err(Rejection::Invalid));
        assert_eq!(r.caller("+6907290").1, None);
        for input in ["0612345678", "+32470123456", "+6907290123", "+821012345678"] {
            let n = r.callback_number(input).unwrap();
            assert!(deflect_config::is_e164(n.e164()), "{input}: {n}");
        }
    }

    #[test]
    fn other_countries_read_their_national_forms() {
        let us = NumberRules::new("US", &[]).unwrap();
        let n = us.callback_number("2015550123").unwrap();
        assert_eq!(n.e164(), "+12015550123");
        let kr = NumberRules::new("KR", &[]).unwrap();
        let n = kr.callback_number("01012345678").unwrap();
        assert_eq!(n.e164(), "+821012345678");
        assert_eq!(n.spoken(Id::KR), "010 1234 5678");
        assert_eq!(n.spoken(Id::NL), "+82 10 1234 5678");
    }

    #[test]
    fn numbers_are_read_back_in_their_national_groups() {
        let cases = [
            ("NL", "0612345678", "06 12345678"),
            ("FR", "0612345678", "06 12 34 56 78"),
            ("DE", "015123456789", "01512 3456789"),
            ("ES", "612345678", "612 34 56 78"),
            ("US", "2015550123", "201 555 0123"),
        ];
        for (country, typed, spoken) in cases {
            let rules = NumberRules::new(country, &[]).unwrap();
            let n = rules.callback_number(typed).unwrap();
            assert_eq!(n.spoken(rules.country()), spoken, "{country}");
        }
    }

    /// Read-back words written out: digits as themselves, pairs in brackets.
    fn said(spoken: &str, pairs: bool) -> String {
        let words = read_back(spoken, pairs).into_iter().map(|w| match w {
            Word::Plus => "+".to_owned(),
            Word::Digit(d) => d.to_string(),
            Word::Pair(n) => format!("[{n}]"),
            Word::Pause => " ".to_owned(),
        });
        words.collect()
    }

    #[test]
    fn french_reads_two_digit_groups_as_numbers() {
        let fr = NumberRules::new("FR", &[]).unwrap();
        let n = fr.callback_number("0612345678").unwrap();
        assert_eq!(said(n.spoken(fr.country()), true), "06 [12] [34] [56] [78]");
        assert_eq!(said(n.spoken(fr.country()), false), "06 12 34 56 78");
        // A group starting with 0 is read digit by digit; `+33` is "plus trente-trois".
        let n = fr.callback_number("0607080910").unwrap();
        assert_eq!(said(n.spoken(fr.country()), true), "06 07 08 09 [10]");
        assert_eq!(said(n.spoken(Id::NL), true), "+[33] 6 07 08 09 [10]");
        // Groups of other lengths stay digit by digit.
        assert_eq!(said("612 34", true), "612 [34]");
    }

    #[test]
    fn no_input_makes_the_parser_panic() {
        // Deterministic pseudo-random digit strings of every length, with and without a
        // leading `+`, and each country of the tests.
        let rules = [
            nl(),
            NumberRules::new("US", &[]).unwrap(),
            NumberRules::new("KR", &[]).unwrap(),
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..600 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 21) as usize;
            let mut s: String = (0..len)
                .map(|i| char::from(b'0' + ((x >> (i % 60)) % 10) as u8))
                .collect();
            if x.is_multiple_of(3) {
                s.insert(0, '+');
            }
            for r in &rules {
                let _ = r.callback_number(&s);
                let _ = r.e164(&s);
            }
        }
    }
}
