//! A blind transfer (RFC 3515, with RFC 5589's call flow): deflect sends REFER in the call's
//! dialog naming the target; the peer (the trunk's PBX or SBC) answers 202, calls the target
//! and reports that call in NOTIFYs (`Event: refer`) whose `message/sipfrag` body is the
//! target's status line. The layer above hears [`TransferEvent`]s and hangs up once the
//! target answered, or goes on with the call when the transfer failed.

use super::call::Transfer;
use super::{
    ALLOW, CallEvent, CallKey, CallState, Endpoint, Event, Origin, Purpose, TransferEvent,
};
use crate::message::{Method, Request};
use crate::transaction::ServerKey;
use std::time::Instant;
use tracing::debug;

impl Endpoint {
    /// Asks the peer of an established call to take it to `target` (a `sip:`, `sips:` or
    /// `tel:` URI): REFER with `Refer-To: <target>` — once the 200 OK is acknowledged, when
    /// asked before. How it goes comes as [`CallEvent::Transfer`]; a call not answered (or
    /// already transferring) reports `Failed(491)` at once.
    pub fn refer(&mut self, now: Instant, key: CallKey, target: &str) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        if let CallState::Answered { refer, .. } = &mut call.state
            && call.transfer.is_none()
        {
            *refer = Some(target.to_owned());
            return;
        }
        if !matches!(call.state, CallState::Confirmed) || call.transfer.is_some() {
            self.events.push_back(Event::Call(
                key,
                CallEvent::Transfer(TransferEvent::Failed(491)),
            ));
            return;
        }
        let (transport, remote) = (call.dialog.transport, call.dialog.remote);
        let referred_by = call.dialog.local_uri.clone();
        let contact = self.contact(transport, remote, None);
        let Some(mut req) = self.in_dialog_request(key, Method::Refer) else {
            return;
        };
        req.headers.push("Refer-To", format!("<{target}>"));
        req.headers.push("Referred-By", referred_by);
        req.headers.push("Contact", contact);
        req.headers.push("Allow", ALLOW);
        if let Some(call) = self.calls.get_mut(&key) {
            call.transfer = Some(Transfer::Asked);
        }
        metrics::counter!("deflect_sip_transfers_total", "event" => "asked").increment(1);
        self.start_client(now, key, req, Purpose::Refer(key));
    }

    /// The final response to deflect's REFER (408 when it timed out).
    pub(super) fn refer_answered(&mut self, key: CallKey, status: u16) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        match (call.transfer, status) {
            (_, ..200) => {}
            // A NOTIFY may come before the 2xx; one with a final status ended it already.
            (Some(Transfer::Asked), 200..300) => {
                call.transfer = Some(Transfer::Accepted);
                self.transfer_event(key, TransferEvent::Accepted);
            }
            (Some(_), 300..) => {
                call.transfer = None;
                self.transfer_event(key, TransferEvent::Failed(status));
            }
            _ => {}
        }
    }

    /// A NOTIFY in the call's dialog: 489 for another event package, 481 when no transfer
    /// is under way (or its reports ended), 400 without a readable status line; else 200
    /// and the target's status for the layer above.
    pub(super) fn handle_notify(
        &mut self,
        now: Instant,
        origin: Origin,
        req: Request,
        key: ServerKey,
        call_key: CallKey,
    ) {
        let event = req.headers.get("Event").unwrap_or("");
        let package = event.split(';').next().unwrap_or("").trim();
        if !package.eq_ignore_ascii_case("refer") {
            return self.reply(now, origin, key, &req, 489, &[("Allow-Events", "refer")]);
        }
        let transferring = self
            .calls
            .get(&call_key)
            .is_some_and(|c| c.transfer.is_some());
        if !transferring {
            return self.reply(now, origin, key, &req, 481, &[]);
        }
        let Some(status) = sipfrag_status(&req.body) else {
            debug!("NOTIFY without a status line in its sipfrag");
            return self.reply(now, origin, key, &req, 400, &[]);
        };
        self.reply(now, origin, key, &req, 200, &[]);
        let terminated = req
            .headers
            .get("Subscription-State")
            .and_then(|s| s.split(';').next())
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("terminated"));
        let event = match status {
            100..200 if !terminated => TransferEvent::Progress(status),
            100..200 => TransferEvent::Failed(487),
            200..300 => TransferEvent::Answered,
            _ => TransferEvent::Failed(status),
        };
        if let Some(call) = self.calls.get_mut(&call_key) {
            match event {
                TransferEvent::Progress(_) => {
                    // The peer calls the target: it took the REFER, whatever its 2xx says.
                    call.transfer = Some(Transfer::Accepted);
                }
                _ => call.transfer = None,
            }
        }
        self.transfer_event(call_key, event);
    }

    /// A REFER from the peer (deflect the transferee): 400 without a `Refer-To`; else it
    /// waits for the layer above's answer ([`CallEvent::Referred`]).
    pub(super) fn handle_refer(
        &mut self,
        now: Instant,
        origin: Origin,
        req: Request,
        key: ServerKey,
        call_key: CallKey,
    ) {
        let target = req.headers.get("Refer-To").map(|t| {
            let t = t.trim();
            t.strip_prefix('<')
                .and_then(|t| t.split_once('>'))
                .map_or(t, |(uri, _)| uri)
                .to_owned()
        });
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            return self.reply(now, origin, key, &req, 400, &[]);
        };
        let event = |request| CallEvent::Referred { request, target };
        self.await_answer(now, origin, (req, key), call_key, event);
    }

    /// Answers a REFER from [`CallEvent::Referred`]: 202 takes it, 4xx–6xx refuse it.
    pub fn answer_refer(&mut self, now: Instant, key: CallKey, request: u64, status: u16) {
        self.answer_info(now, key, request, status);
    }

    /// Reports on a REFER deflect took: a NOTIFY whose `message/sipfrag` body is the status
    /// line `status` of the call to the target — 1xx while it goes on, a final status ends
    /// the report (`Subscription-State: terminated`).
    pub fn notify_transfer(&mut self, now: Instant, key: CallKey, status: u16) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        let contact = self.contact(call.dialog.transport, call.dialog.remote, None);
        let Some(mut req) = self.in_dialog_request(key, Method::Notify) else {
            return;
        };
        let state = if status < 200 {
            "active;expires=60"
        } else {
            "terminated;reason=noresource"
        };
        req.headers.push("Event", "refer");
        req.headers.push("Subscription-State", state);
        req.headers.push("Contact", contact);
        req.headers
            .push("Content-Type", "message/sipfrag;version=2.0");
        req.body = format!("SIP/2.0 {status} {}\r\n", reason_phrase(status)).into_bytes();
        self.start_client(now, key, req, Purpose::InDialog(key));
    }

    fn transfer_event(&mut self, key: CallKey, event: TransferEvent) {
        let label = match event {
            TransferEvent::Accepted => "accepted",
            TransferEvent::Progress(_) => "progress",
            TransferEvent::Answered => "answered",
            TransferEvent::Failed(_) => "failed",
        };
        metrics::counter!("deflect_sip_transfers_total", "event" => label).increment(1);
        self.events
            .push_back(Event::Call(key, CallEvent::Transfer(event)));
    }
}

/// A reason phrase for a sipfrag status line.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200..300 => "OK",
        486 => "Busy Here",
        487 => "Request Terminated",
        _ if status < 200 => "Progress",
        _ => "Failed",
    }
}

/// The status code of a `message/sipfrag` body's status line (`SIP/2.0 200 OK`).
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let code = rest.get(..3)?;
    let status: u16 = code.parse().ok()?;
    let after = rest.as_bytes().get(3);
    ((100..700).contains(&status) && after.is_none_or(|b| *b == b' ')).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Peer, confirmed, request, response_to};
    use super::sipfrag_status;
    use crate::endpoint::{CallEvent, Event, TransferEvent};
    use crate::message::Method;
    use std::time::Duration;

    const TARGET: &str = "sip:agents@pbx.example.com";

    /// A NOTIFY from the peer in dialog `tag` with `status` in its sipfrag.
    fn notify(tag: &str, cseq: u32, sipfrag: &str, state: &str) -> String {
        request(
            "NOTIFY",
            Some(tag),
            cseq,
            &format!("z9hG4bKn{cseq}"),
            &format!(
                "Event: refer\nSubscription-State: {state}\n\
                 Content-Type: message/sipfrag;version=2.0\n"
            ),
        )
        .replace(
            "Content-Length: 0\n\n",
            &format!("Content-Length: {}\n\n{sipfrag}", sipfrag.len()),
        )
    }

    fn transfers(p: &mut Peer) -> Vec<TransferEvent> {
        p.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Call(_, CallEvent::Transfer(t)) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_refer_names_the_target_and_notifies_report_the_target_until_it_answers() {
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        p.ua.refer(p.now, key, TARGET);
        let refer = p.requests().pop().expect("the REFER");
        assert_eq!(refer.method, Method::Refer);
        assert_eq!(refer.headers.get("Refer-To"), Some(&*format!("<{TARGET}>")));
        assert!(refer.headers.get("Referred-By").is_some());
        assert!(refer.headers.get("Contact").is_some());
        p.send(&response_to(&refer, 202, "caller", ""));
        p.send(&notify(
            &tag,
            2,
            "SIP/2.0 100 Trying\r\n",
            "active;expires=60",
        ));
        p.send(&notify(
            &tag,
            3,
            "SIP/2.0 180 Ringing\r\n",
            "active;expires=60",
        ));
        p.send(&notify(
            &tag,
            4,
            "SIP/2.0 200 OK\r\n",
            "terminated;reason=noresource",
        ));
        assert_eq!(p.statuses(), [200, 200, 200]);
        assert_eq!(
            transfers(&mut p),
            [
                TransferEvent::Accepted,
                TransferEvent::Progress(100),
                TransferEvent::Progress(180),
                TransferEvent::Answered
            ]
        );
        // The reports are over: a late NOTIFY matches nothing.
        p.send(&notify(&tag, 5, "SIP/2.0 200 OK\r\n", "terminated"));
        assert_eq!(p.statuses(), [481]);
    }

    #[test]
    fn a_refused_or_unanswered_refer_and_a_failing_target_fail_the_transfer() {
        // Refused.
        let mut p = Peer::new();
        let (key, _) = confirmed(&mut p);
        p.ua.refer(p.now, key, TARGET);
        let refer = p.requests().pop().expect("the REFER");
        p.send(&response_to(&refer, 603, "caller", ""));
        assert_eq!(transfers(&mut p), [TransferEvent::Failed(603)]);
        // Unanswered: 408 after Timer F.
        let mut p = Peer::new();
        let (key, _) = confirmed(&mut p);
        p.ua.refer(p.now, key, TARGET);
        p.advance(Duration::from_secs(40));
        assert!(transfers(&mut p).contains(&TransferEvent::Failed(408)));
        // The target is busy; the NOTIFY came before the 202.
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        p.ua.refer(p.now, key, TARGET);
        let refer = p.requests().pop().expect("the REFER");
        p.send(&notify(&tag, 2, "SIP/2.0 486 Busy Here\r\n", "terminated"));
        p.send(&response_to(&refer, 202, "caller", ""));
        assert_eq!(transfers(&mut p), [TransferEvent::Failed(486)]);
        // Reports ended without a final status.
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        p.ua.refer(p.now, key, TARGET);
        p.sent();
        p.send(&notify(
            &tag,
            2,
            "SIP/2.0 100 Trying\r\n",
            "terminated;reason=timeout",
        ));
        assert_eq!(transfers(&mut p), [TransferEvent::Failed(487)]);
    }

    #[test]
    fn notifies_outside_a_transfer_or_of_another_package_or_unreadable_are_refused() {
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        p.send(&notify(&tag, 2, "SIP/2.0 200 OK\r\n", "terminated"));
        assert_eq!(p.statuses(), [481], "no transfer under way");
        p.ua.refer(p.now, key, TARGET);
        p.sent();
        let other = notify(&tag, 3, "SIP/2.0 200 OK\r\n", "active")
            .replace("Event: refer", "Event: dialog");
        p.send(&other);
        assert_eq!(p.statuses(), [489]);
        p.send(&notify(&tag, 4, "hello\r\n", "active"));
        assert_eq!(p.statuses(), [400]);
        assert!(transfers(&mut p).is_empty());
        // A second REFER while one is under way.
        p.ua.refer(p.now, key, TARGET);
        assert!(p.requests().is_empty());
        assert_eq!(transfers(&mut p), [TransferEvent::Failed(491)]);
    }

    #[test]
    fn a_refer_asked_for_before_the_ack_goes_out_with_it() {
        use super::super::testing::{SDP, invite, to_tag};
        let mut p = Peer::new();
        p.send(&invite("z9hG4bKi"));
        let key = p.incoming();
        p.ua.accept(p.now, key, SDP.as_bytes().to_vec());
        let tag = to_tag(&p.responses().pop().expect("the 200 OK"));
        p.ua.refer(p.now, key, TARGET);
        assert!(p.requests().is_empty(), "not before the ACK");
        p.send(&request("ACK", Some(&tag), 1, "z9hG4bKa", ""));
        let refer = p.requests().pop().expect("the REFER");
        assert_eq!(refer.method, Method::Refer);
        assert!(transfers(&mut p).is_empty());
    }

    #[test]
    fn a_peers_refer_waits_for_the_answer_and_is_reported_on_in_notifies() {
        let mut p = Peer::new();
        let (key, tag) = confirmed(&mut p);
        let refer = request(
            "REFER",
            Some(&tag),
            2,
            "z9hG4bKr",
            &format!("Refer-To: <{TARGET}>\n"),
        );
        p.send(&refer);
        let request_id = match p.events().as_slice() {
            [Event::Call(k, CallEvent::Referred { request, target })] => {
                assert_eq!((*k, target.as_str()), (key, TARGET));
                *request
            }
            other => panic!("{other:?}"),
        };
        assert!(p.statuses().is_empty(), "the answer is the layer above's");
        p.ua.answer_refer(p.now, key, request_id, 202);
        assert_eq!(p.statuses(), [202]);
        p.ua.notify_transfer(p.now, key, 200);
        let notify = p.requests().pop().expect("the NOTIFY");
        assert_eq!(notify.method, Method::Notify);
        assert_eq!(notify.headers.get("Event"), Some("refer"));
        assert!(
            notify
                .headers
                .get("Subscription-State")
                .unwrap_or_default()
                .starts_with("terminated")
        );
        assert_eq!(sipfrag_status(&notify.body), Some(200));
        // Without a Refer-To: 400.
        p.send(&request("REFER", Some(&tag), 3, "z9hG4bKs", ""));
        assert_eq!(p.statuses(), [400]);
    }

    #[test]
    fn sipfrag_status_lines_are_read_strictly() {
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(sipfrag_status(b"SIP/2.0 180\r\n"), Some(180));
        assert_eq!(sipfrag_status(b"SIP/2.0 603 Declined"), Some(603));
        for bad in [
            &b""[..],
            b"SIP/2.0 2000 OK",
            b"SIP/1.0 200 OK",
            b"SIP/2.0 099 x",
            b"\xff",
        ] {
            assert_eq!(sipfrag_status(bad), None, "{bad:?}");
        }
    }
}
