//! deflect's IVR: call flows that collect a callback number by DTMF or speech and hand a
//! deflection to the inbox.

#![forbid(unsafe_code)]
