//! Log output: human-readable text or one JSON object per line, on standard error.

use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, fields at the top level.
    Json,
}

/// Installs the global subscriber. The filter comes from `--log`, else `RUST_LOG`, else
/// `info`.
pub(crate) fn init(format: Format, filter: Option<&str>) -> Result<(), String> {
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).map_err(|e| format!("invalid --log filter {f:?}: {e}"))?,
        None => match std::env::var("RUST_LOG") {
            Ok(f) if !f.is_empty() => {
                EnvFilter::try_new(&f).map_err(|e| format!("invalid RUST_LOG filter {f:?}: {e}"))?
            }
            _ => EnvFilter::new("info"),
        },
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        Format::Text => builder.init(),
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    Ok(())
}
