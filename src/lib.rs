//! deflect, the gateway as a library: [`gateway`] builds every part from the configuration,
//! wires them together and runs them on listeners it is given until a shutdown future
//! completes. The `deflect` binary (`src/main.rs`) parses the command line, sets up logging,
//! binds the configured ports and calls it with the process's signals; tests start the
//! whole gateway in-process on port 0 the same way (`tests/in_process.rs`).

#![forbid(unsafe_code)]

mod agent_phones;
mod browser_calls;
mod calls;
pub mod gateway;
mod node;
mod registration;
mod whatsapp_calls;
