//! The endpoint's side of registering trunks: one [`crate::registration::Registration`]
//! client per trunk with a `register` section; the endpoint sends its REGISTERs in client
//! transactions, keeps its deadline in the timer table and reports its states as events.

use super::{Endpoint, Event, Purpose, RegistrationState, TimerRef, token};
use crate::message::{Request, Response};
use crate::registration::Outcome;
use deflect_config::SipTransport;
use std::net::SocketAddr;
use std::time::Instant;
use tracing::{info, warn};

impl Endpoint {
    /// Starts (or restarts) registering trunk `trunk` (its name) at `remote`, the
    /// registrar's resolved address.
    pub fn register(
        &mut self,
        now: Instant,
        trunk: &str,
        transport: SipTransport,
        remote: SocketAddr,
    ) {
        let Some(i) = self.registrations.iter().position(|r| r.trunk() == trunk) else {
            return;
        };
        let call_id = format!("{}@deflect", self.token());
        let from_tag = self.token();
        self.registrations[i].start(transport, remote, call_id, from_tag);
        self.send_register(now, i, None);
    }

    /// Stops registering every trunk: each registered (or registering) one sends its
    /// `Expires: 0` REGISTER now; each ends with [`RegistrationState::Unregistered`].
    /// Returns how many were sent.
    pub fn unregister_all(&mut self, now: Instant) -> usize {
        let mut sent = 0;
        for i in 0..self.registrations.len() {
            if self.registrations[i].leave() {
                self.timers.stop(&TimerRef::Registration(i));
                self.send_register(now, i, None);
                sent += 1;
            }
        }
        sent
    }

    /// Sends registration `i`'s next REGISTER (with an answer to a challenge, if given).
    pub(super) fn send_register(
        &mut self,
        now: Instant,
        i: usize,
        authorization: Option<(&str, String)>,
    ) {
        let branch = self.branch();
        let advertised = match self.registrations[i].remote() {
            Some((_, remote)) => self.advertised_to(remote).to_vec(),
            None => self.config.advertised.clone(),
        };
        let Some((transport, remote, req)) = self.registrations[i].request(
            &advertised,
            &self.config.user_agent,
            &branch,
            authorization,
        ) else {
            return;
        };
        self.timers.stop(&TimerRef::Registration(i));
        self.start_client_to(now, transport, remote, req, Purpose::Register(i));
    }

    /// A response to registration `i`'s REGISTER `request`.
    pub(super) fn registration_response(
        &mut self,
        now: Instant,
        i: usize,
        request: &Request,
        resp: &Response,
    ) {
        let rng = &mut self.rng;
        let outcome = self.registrations[i].on_response(now, request, resp, || token(rng));
        self.registration_outcome(now, i, outcome);
    }

    /// Registration `i`'s REGISTER got no final response (Timer F).
    pub(super) fn registration_timed_out(&mut self, now: Instant, i: usize) {
        let outcome = self.registrations[i].fail(now, 408);
        self.registration_outcome(now, i, outcome);
    }

    /// Registration `i`'s timer: the refresh or retry is due.
    pub(super) fn registration_timer(&mut self, now: Instant, i: usize) {
        if self.registrations[i].poll_due(now) {
            self.send_register(now, i, None);
        } else {
            let at = self.registrations[i].deadline();
            self.arm(at, TimerRef::Registration(i));
        }
    }

    fn registration_outcome(&mut self, now: Instant, i: usize, outcome: Outcome) {
        let name = self.registrations[i].trunk().to_owned();
        let at = self.registrations[i].deadline();
        let state = match outcome {
            Outcome::Pending => return,
            Outcome::Authenticate { header, value } => {
                return self.send_register(now, i, Some((header, value)));
            }
            Outcome::Registered { expires } => {
                metrics::gauge!("deflect_sip_registration_registered", "trunk" => name.clone())
                    .set(1.0);
                info!(trunk = %name, expires, "registered");
                RegistrationState::Registered { expires }
            }
            Outcome::Unregistered { status } => {
                metrics::gauge!("deflect_sip_registration_registered", "trunk" => name.clone())
                    .set(0.0);
                info!(trunk = %name, status, "unregistered");
                let state = RegistrationState::Unregistered { status };
                self.events
                    .push_back(Event::Registration { trunk: name, state });
                return;
            }
            Outcome::Failed { status, retry_in } => {
                metrics::gauge!("deflect_sip_registration_registered", "trunk" => name.clone())
                    .set(0.0);
                warn!(trunk = %name, status, retry_in = ?retry_in, "registration failed");
                RegistrationState::Failed { status, retry_in }
            }
        };
        self.arm(at, TimerRef::Registration(i));
        self.events
            .push_back(Event::Registration { trunk: name, state });
    }
}
