//! `[ivr]`: call flows per dialled number, prompts, speech models and abuse limits.

use crate::Problems;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[ivr]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrConfig {
    /// Directory of prompt WAV files replacing the built-in English prompts
    /// (`<language>/<prompt>.wav`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts_dir: Option<PathBuf>,
    /// Directory of Vosk speech models, one per language (`<language>/`). Speech input is off
    /// for languages without a model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speech_models_dir: Option<PathBuf>,
    /// Country (ISO 3166 alpha-2) for numbers entered without a country code.
    pub default_country: String,
    /// Flows, chosen by the dialled number. Calls to numbers no flow lists get the built-in
    /// default flow.
    pub flows: Vec<FlowConfig>,
    /// Abuse limits on deflections.
    pub limits: LimitsConfig,
}

impl Default for IvrConfig {
    fn default() -> Self {
        Self {
            prompts_dir: None,
            speech_models_dir: None,
            default_country: "NL".into(),
            flows: Vec::new(),
            limits: LimitsConfig::default(),
        }
    }
}

/// `[[ivr.flows]]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowConfig {
    /// Name, in logs, metrics and the deflection's call context.
    pub name: String,
    /// Dialled numbers (Request-URI or To user part) routed to this flow.
    pub numbers: Vec<String>,
    /// Prompt and speech language.
    pub language: String,
    /// Overrides `ivr.default_country` for this flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// WhatsApp account the deflection is sent from (default: the default account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_account: Option<String>,
    /// Queue the deflected conversation goes to (default: `inbox.default_queue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            numbers: Vec::new(),
            language: "en".into(),
            country: None,
            whatsapp_account: None,
            queue: None,
        }
    }
}

/// `[ivr.limits]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deflections per calling number per hour.
    pub per_caller_per_hour: u32,
    /// Deflections to one callback number per hour.
    pub per_callback_number_per_hour: u32,
    /// Countries (ISO 3166 alpha-2) callback numbers may be in; empty allows all.
    pub allowed_countries: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_caller_per_hour: 3,
            per_callback_number_per_hour: 3,
            allowed_countries: Vec::new(),
        }
    }
}

fn check_country(p: &mut Problems, path: String, c: &str) {
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        p.push(
            path,
            format!("{c:?} is not an ISO 3166 alpha-2 country code such as \"NL\" or \"US\""),
        );
    }
}

impl IvrConfig {
    pub(crate) fn validate(&self, p: &mut Problems) {
        check_country(p, "ivr.default_country".into(), &self.default_country);
        for (i, c) in self.limits.allowed_countries.iter().enumerate() {
            check_country(p, format!("ivr.limits.allowed_countries[{i}]"), c);
        }
        p.unique_names("ivr.flows", self.flows.iter().map(|f| f.name.as_str()));
        let mut numbers: Vec<&str> = Vec::new();
        for (i, f) in self.flows.iter().enumerate() {
            let at = format!("ivr.flows[{i}]");
            p.identifier(format!("{at}.name"), &f.name);
            if let Some(c) = &f.country {
                check_country(p, format!("{at}.country"), c);
            }
            for (j, n) in f.numbers.iter().enumerate() {
                if numbers.contains(&n.as_str()) {
                    p.push(
                        format!("{at}.numbers[{j}]"),
                        format!("{n:?} is routed to an earlier flow"),
                    );
                }
                numbers.push(n);
            }
        }
    }
}
