//! Opening hours of a flow, for `branch` steps. The evaluation is shared with the widget's
//! sites and lives beside its configuration, in [`deflect_config::OpeningHours`].

pub use deflect_config::{HoursError, OpeningHours};
