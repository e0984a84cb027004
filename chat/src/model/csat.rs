//! Customer satisfaction (CSAT): the survey's answers and how a reply is read as one, and the
//! report of the scores per agent and queue.
//!
//! A survey's reply buttons (or list rows) carry `csat:<conversation reference>:<score>`; a
//! score is 1 (bad) to 5 (good), the three-answer scale storing good, neutral and bad as 5, 3
//! and 1. Where buttons cannot be sent (Twilio, the sandbox's text) or a template's quick
//! reply carries its own text, the customer's words are read instead ([`score_in_text`]).

use deflect_config::CsatScale;
use serde::{Deserialize, Serialize};

const CSAT_PREFIX: &str = "csat:";

/// The payload of the survey answer `score` for the conversation with `reference`.
pub fn csat_payload(reference: &str, score: u8) -> String {
    format!("{CSAT_PREFIX}{reference}:{score}")
}

/// The (reference, score) a survey answer's payload carries, if it is one of ours.
pub fn csat_in_payload(payload: &str) -> Option<(&str, u8)> {
    let (reference, score) = payload.strip_prefix(CSAT_PREFIX)?.rsplit_once(':')?;
    let score: u8 = score.parse().ok()?;
    (!reference.is_empty() && reference.len() <= 16 && (1..=5).contains(&score))
        .then_some((reference, score))
}

/// The score a customer's words give on `scale`, if they are an answer: on `1-5` a digit
/// 1–5; on `good-neutral-bad` the word (any case), or its position as a text survey
/// numbers them (1 good, 2 neutral, 3 bad). Surrounding spaces and a final `.` or `!` are
/// allowed; anything else is not an answer.
pub fn score_in_text(scale: CsatScale, text: &str) -> Option<u8> {
    let word = text
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    match scale {
        CsatScale::OneToFive => word.parse::<u8>().ok().filter(|s| (1..=5).contains(s)),
        CsatScale::GoodNeutralBad => match word.as_str() {
            "good" | "1" => Some(5),
            "neutral" | "2" => Some(3),
            "bad" | "3" => Some(1),
            _ => None,
        },
    }
}

/// The satisfaction scores of rated conversations (`GET /api/v1/reports/csat`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CsatReport {
    /// Per agent who handled the conversations, most ratings first.
    pub by_agent: Vec<CsatByAgent>,
    /// Per queue the conversations closed in, most ratings first.
    pub by_queue: Vec<CsatByQueue>,
    /// All rated conversations.
    pub overall: CsatSummary,
}

/// One agent's ratings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatByAgent {
    /// The agent.
    pub agent_id: i64,
    /// Their name.
    pub display_name: String,
    /// How many ratings.
    pub count: i64,
    /// Their average score (1–5).
    pub average: f64,
}

/// One queue's ratings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsatByQueue {
    /// The queue.
    pub queue: String,
    /// How many ratings.
    pub count: i64,
    /// Their average score (1–5).
    pub average: f64,
}

/// A count of ratings and their average (`null` without ratings).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CsatSummary {
    /// How many ratings.
    pub count: i64,
    /// Their average score (1–5); none without ratings.
    pub average: Option<f64>,
}

/// The average of `count` scores adding up to `sum`, to two decimals.
pub(crate) fn average(sum: i64, count: i64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    (sum as f64 / count as f64 * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_reference_and_score_and_nothing_else_is_one() {
        let p = csat_payload("K7Q2MX", 5);
        assert_eq!(p, "csat:K7Q2MX:5");
        assert_eq!(csat_in_payload(&p), Some(("K7Q2MX", 5)));
        assert_eq!(csat_in_payload("csat:K7Q2MX:6"), None);
        assert_eq!(csat_in_payload("csat:K7Q2MX:0"), None);
        assert_eq!(csat_in_payload("csat::3"), None);
        assert_eq!(csat_in_payload("csat:K7Q2MX"), None);
        assert_eq!(csat_in_payload("deflect:K7Q2MX"), None);
    }

    #[test]
    fn words_are_answers_only_on_their_scale() {
        use CsatScale::*;
        assert_eq!(score_in_text(OneToFive, " 4 "), Some(4));
        assert_eq!(score_in_text(OneToFive, "5!"), Some(5));
        assert_eq!(score_in_text(OneToFive, "6"), None);
        assert_eq!(score_in_text(OneToFive, "good"), None);
        assert_eq!(score_in_text(GoodNeutralBad, "Good."), Some(5));
        assert_eq!(score_in_text(GoodNeutralBad, "NEUTRAL"), Some(3));
        assert_eq!(
            score_in_text(GoodNeutralBad, "3"),
            Some(1),
            "the third: bad"
        );
        assert_eq!(score_in_text(GoodNeutralBad, "not good"), None);
        assert_eq!(score_in_text(GoodNeutralBad, "4"), None);
    }

    #[test]
    fn averages_have_two_decimals() {
        assert_eq!(average(14, 3), 4.67);
        assert_eq!(average(0, 0), 0.0);
    }
}
