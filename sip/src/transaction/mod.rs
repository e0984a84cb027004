//! Transactions (RFC 3261 §17 with the RFC 6026 "Accepted" states): what is retransmitted,
//! what is absorbed, and when each timer fires. Sans-IO: every input carries `now`; the
//! owner ([`crate::endpoint::Endpoint`]) arms the deadlines these machines report and calls
//! [`ServerTransaction::on_timer`] / [`ClientTransaction::on_timer`] when they come due.
//!
//! | timer | machine | fires after | effect |
//! |---|---|---|---|
//! | A | INVITE client (UDP) | T1, doubling | retransmit INVITE |
//! | B | INVITE client | 64·T1 | timeout |
//! | D | INVITE client (UDP) | 32 s | Completed → Terminated |
//! | E | non-INVITE client (UDP) | T1, doubling to T2 | retransmit request |
//! | F | non-INVITE client | 64·T1 | timeout |
//! | G | INVITE server (UDP) | T1, doubling to T2 | retransmit non-2xx final |
//! | H | INVITE server | 64·T1 | no ACK: Terminated |
//! | I | INVITE server (UDP) | T4 | Confirmed → Terminated |
//! | J | non-INVITE server (UDP) | 64·T1 | Completed → Terminated |
//! | K | non-INVITE client (UDP) | T4 | Completed → Terminated |
//! | L | INVITE server | 64·T1 | Accepted → Terminated (RFC 6026) |
//! | M | INVITE client | 64·T1 | Accepted → Terminated (RFC 6026) |
//!
//! On reliable transports (TCP) the retransmission timers are not armed and D, I, J, K are
//! zero, as §17 says. Which transaction a message belongs to is [`ServerKey`] /
//! [`ClientKey`] (§17.1.3, §17.2.3).

mod key;

pub use key::{ClientKey, MAGIC_COOKIE, ServerKey};

use std::time::{Duration, Instant};

/// RFC 3261 timer base values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Round-trip estimate.
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// Longest time a message stays in the network.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// What a transaction asks its owner to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the transaction's peer.
    Send(Vec<u8>),
    /// Hand a response up (client transactions).
    PassUp,
    /// The transaction timed out (B, F, or H).
    TimedOut,
    /// The transaction is over and may be forgotten.
    Terminate,
}

/// Server transaction states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// INVITE: waiting for the final response (after 100 Trying).
    Proceeding,
    /// Non-INVITE: waiting for the final response.
    Trying,
    /// A non-2xx final response was sent (INVITE: waiting for ACK).
    Completed,
    /// INVITE: a 2xx was sent (RFC 6026); retransmissions of it belong to the dialog.
    Accepted,
    /// INVITE: the ACK arrived.
    Confirmed,
    /// Over.
    Terminated,
}

/// A server transaction (§17.2).
#[derive(Debug)]
pub struct ServerTransaction {
    invite: bool,
    reliable: bool,
    timers: Timers,
    /// Current state.
    pub state: ServerState,
    last_response: Option<Vec<u8>>,
    /// Timer G interval.
    retransmit_interval: Duration,
    /// Next retransmission (G).
    pub retransmit_at: Option<Instant>,
    /// When the state ends (H, I, J, L).
    pub end_at: Option<Instant>,
}

impl ServerTransaction {
    /// A new transaction for a received request.
    pub fn new(invite: bool, reliable: bool, timers: Timers) -> Self {
        Self {
            invite,
            reliable,
            timers,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            last_response: None,
            retransmit_interval: timers.t1,
            retransmit_at: None,
            end_at: None,
        }
    }

    /// The request arrived again: resend the last response (INVITE in Accepted: absorbed).
    pub fn on_retransmission(&self) -> Option<Action> {
        match self.state {
            ServerState::Accepted | ServerState::Confirmed | ServerState::Terminated => None,
            _ => self.last_response.clone().map(Action::Send),
        }
    }

    /// The transaction user sends a response with status `status`.
    pub fn send_response(&mut self, now: Instant, status: u16, bytes: Vec<u8>) -> Vec<Action> {
        let t = self.timers;
        let mut out = vec![Action::Send(bytes.clone())];
        self.last_response = Some(bytes);
        if status < 200 {
            if self.state == ServerState::Trying {
                self.state = ServerState::Proceeding;
            }
            return out;
        }
        if self.invite {
            if status < 300 {
                self.state = ServerState::Accepted;
                self.end_at = Some(now + 64 * t.t1);
                self.last_response = None;
            } else {
                self.state = ServerState::Completed;
                if !self.reliable {
                    self.retransmit_interval = t.t1;
                    self.retransmit_at = Some(now + t.t1);
                }
                self.end_at = Some(now + 64 * t.t1);
            }
        } else {
            self.state = ServerState::Completed;
            if self.reliable {
                self.state = ServerState::Terminated;
                out.push(Action::Terminate);
            } else {
                self.end_at = Some(now + 64 * t.t1);
            }
        }
        out
    }

    /// An ACK for a non-2xx final response arrived.
    pub fn on_ack(&mut self, now: Instant) -> Vec<Action> {
        if self.state != ServerState::Completed {
            return Vec::new();
        }
        self.retransmit_at = None;
        if self.reliable {
            self.state = ServerState::Terminated;
            return vec![Action::Terminate];
        }
        self.state = ServerState::Confirmed;
        self.end_at = Some(now + self.timers.t4);
        Vec::new()
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A deadline came due.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.end_at.is_some_and(|t| t <= now) {
            self.retransmit_at = None;
            self.end_at = None;
            if self.state == ServerState::Completed && self.invite {
                out.push(Action::TimedOut);
            }
            self.state = ServerState::Terminated;
            out.push(Action::Terminate);
            return out;
        }
        if let Some(at) = self.retransmit_at
            && at <= now
        {
            if let Some(r) = &self.last_response {
                out.push(Action::Send(r.clone()));
            }
            self.retransmit_interval = (self.retransmit_interval * 2).min(self.timers.t2);
            self.retransmit_at = Some(now + self.retransmit_interval);
        }
        out
    }
}

/// Client transaction states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// INVITE sent, nothing heard.
    Calling,
    /// Non-INVITE sent, nothing heard.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// INVITE: a 2xx arrived (RFC 6026); 2xx retransmissions still go up.
    Accepted,
    /// A final response arrived (INVITE: non-2xx, ACKed).
    Completed,
    /// Over.
    Terminated,
}

/// A client transaction (§17.1).
#[derive(Debug)]
pub struct ClientTransaction {
    invite: bool,
    reliable: bool,
    timers: Timers,
    /// Current state.
    pub state: ClientState,
    request: Vec<u8>,
    ack: Option<Vec<u8>>,
    retransmit_interval: Duration,
    /// Next retransmission (A, E).
    pub retransmit_at: Option<Instant>,
    /// Timeout (B, F) or end of a waiting state (D, K, M).
    pub end_at: Option<Instant>,
}

impl ClientTransaction {
    /// Starts a transaction; the first action sends the request.
    pub fn start(
        now: Instant,
        invite: bool,
        reliable: bool,
        timers: Timers,
        request: Vec<u8>,
    ) -> (Self, Action) {
        let tx = Self {
            invite,
            reliable,
            timers,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            request: request.clone(),
            ack: None,
            retransmit_interval: timers.t1,
            retransmit_at: (!reliable).then_some(now + timers.t1),
            end_at: Some(now + 64 * timers.t1),
        };
        (tx, Action::Send(request))
    }

    /// A response with `status` arrived. `ack` builds the ACK for a non-2xx final response
    /// to an INVITE (same branch, §17.1.1.3).
    pub fn on_response(
        &mut self,
        now: Instant,
        status: u16,
        ack: impl FnOnce() -> Vec<u8>,
    ) -> Vec<Action> {
        let t = self.timers;
        match (self.state, status) {
            (ClientState::Calling | ClientState::Trying | ClientState::Proceeding, 100..=199) => {
                if self.invite {
                    self.retransmit_at = None;
                } else if !self.reliable {
                    self.retransmit_interval = t.t2;
                }
                self.state = ClientState::Proceeding;
                vec![Action::PassUp]
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) if self.invite => {
                self.state = ClientState::Accepted;
                self.retransmit_at = None;
                self.end_at = Some(now + 64 * t.t1);
                vec![Action::PassUp]
            }
            (ClientState::Accepted, 200..=299) => vec![Action::PassUp],
            (ClientState::Calling | ClientState::Proceeding, _) if self.invite => {
                let ack = ack();
                self.ack = Some(ack.clone());
                self.retransmit_at = None;
                let mut out = vec![Action::Send(ack), Action::PassUp];
                if self.reliable {
                    self.state = ClientState::Terminated;
                    out.push(Action::Terminate);
                } else {
                    self.state = ClientState::Completed;
                    self.end_at = Some(now + Duration::from_secs(32));
                }
                out
            }
            (ClientState::Completed, 300..) if self.invite => {
                self.ack.clone().map(Action::Send).into_iter().collect()
            }
            (ClientState::Trying | ClientState::Proceeding, 200..) => {
                self.retransmit_at = None;
                let mut out = vec![Action::PassUp];
                if self.reliable {
                    self.state = ClientState::Terminated;
                    out.push(Action::Terminate);
                } else {
                    self.state = ClientState::Completed;
                    self.end_at = Some(now + t.t4);
                }
                out
            }
            _ => Vec::new(),
        }
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A deadline came due.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        if self.end_at.is_some_and(|t| t <= now) {
            let timed_out = matches!(
                self.state,
                ClientState::Calling | ClientState::Trying | ClientState::Proceeding
            );
            self.state = ClientState::Terminated;
            self.retransmit_at = None;
            self.end_at = None;
            return if timed_out {
                vec![Action::TimedOut, Action::Terminate]
            } else {
                vec![Action::Terminate]
            };
        }
        let mut out = Vec::new();
        if let Some(at) = self.retransmit_at
            && at <= now
        {
            out.push(Action::Send(self.request.clone()));
            self.retransmit_interval = if self.invite {
                self.retransmit_interval * 2
            } else if self.state == ClientState::Proceeding {
                self.timers.t2
            } else {
                (self.retransmit_interval * 2).min(self.timers.t2)
            };
            self.retransmit_at = Some(now + self.retransmit_interval);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sends(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::Send(_)))
            .count()
    }

    #[test]
    fn timer_a_doubles_without_cap_and_timer_b_times_out_at_64_t1() {
        let t = Timers::default();
        let start = Instant::now();
        let (mut tx, _) = ClientTransaction::start(start, true, false, t, b"INVITE".to_vec());
        let mut fired = Vec::new();
        while let Some(at) = tx.next_deadline() {
            let actions = tx.on_timer(at);
            if sends(&actions) > 0 {
                fired.push((at - start).as_millis());
            }
            if actions.contains(&Action::TimedOut) {
                assert_eq!(at - start, 64 * t.t1);
                break;
            }
        }
        assert_eq!(fired, vec![500, 1500, 3500, 7500, 15500, 31500]);
    }

    #[test]
    fn timer_e_caps_at_t2_and_a_provisional_switches_to_t2() {
        let t = Timers::default();
        let start = Instant::now();
        let (mut tx, _) = ClientTransaction::start(start, false, false, t, b"BYE".to_vec());
        let mut fired = Vec::new();
        for _ in 0..6 {
            let at = tx.next_deadline().unwrap();
            tx.on_timer(at);
            fired.push((at - start).as_millis());
        }
        assert_eq!(fired, vec![500, 1500, 3500, 7500, 11500, 15500]);
        tx.on_response(start + Duration::from_millis(15600), 180, Vec::new);
        let at = tx.next_deadline().unwrap();
        tx.on_timer(at);
        assert_eq!((tx.next_deadline().unwrap() - at), t.t2);
    }

    #[test]
    fn timers_g_h_and_i_on_an_unacknowledged_rejection() {
        let t = Timers::default();
        let start = Instant::now();
        let mut tx = ServerTransaction::new(true, false, t);
        tx.send_response(start, 486, b"486".to_vec());
        let mut retransmits = Vec::new();
        loop {
            let at = tx.next_deadline().unwrap();
            let actions = tx.on_timer(at);
            if actions.contains(&Action::TimedOut) {
                assert_eq!(at - start, 64 * t.t1, "timer H");
                break;
            }
            retransmits.push((at - start).as_millis());
        }
        assert_eq!(&retransmits[..6], &[500, 1500, 3500, 7500, 11500, 15500]);
        // With the ACK, G stops and I (T4) ends the transaction.
        let mut tx = ServerTransaction::new(true, false, t);
        tx.send_response(start, 486, b"486".to_vec());
        tx.on_ack(start + Duration::from_millis(100));
        assert_eq!(tx.state, ServerState::Confirmed);
        assert_eq!(
            tx.next_deadline(),
            Some(start + Duration::from_millis(100) + t.t4)
        );
        assert!(tx.on_retransmission().is_none());
    }

    #[test]
    fn reliable_transports_arm_no_retransmissions() {
        let t = Timers::default();
        let start = Instant::now();
        let (tx, _) = ClientTransaction::start(start, false, true, t, b"BYE".to_vec());
        assert_eq!(tx.next_deadline(), Some(start + 64 * t.t1));
        let mut st = ServerTransaction::new(false, true, t);
        let actions = st.send_response(start, 200, b"200".to_vec());
        assert!(actions.contains(&Action::Terminate));
    }
}
