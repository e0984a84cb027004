//! The tokio driver end to end on loopback: deflect's UAC calls deflect's UAS over UDP and
//! over TCP through the handles the layers above use.

#![allow(clippy::unwrap_used)]

use deflect_config::{ListenAddr, SipConfig, SipTransport};
use deflect_sip::endpoint::{CallEvent, EndReason, OutgoingCall, Reason};
use deflect_sip::message::Uri;
use deflect_sip::runtime::Sip;
use std::time::Duration;

async fn stack() -> (Sip, deflect_sip::runtime::Incoming) {
    let config = SipConfig {
        listen: vec![
            "udp:127.0.0.1:0".parse::<ListenAddr>().unwrap(),
            "tcp:127.0.0.1:0".parse().unwrap(),
        ],
        ..SipConfig::default()
    };
    let listeners = deflect_sip::transport::bind(&config.listen).await.unwrap();
    Sip::start(&config, listeners).unwrap()
}

async fn call_over(transport: SipTransport) {
    let (uas, mut incoming) = stack().await;
    let (uac, _) = stack().await;
    let target = uas
        .local_addrs()
        .iter()
        .find(|(t, _)| *t == transport)
        .unwrap()
        .1;
    let offer = b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n".to_vec();
    let mut outgoing = uac
        .call(OutgoingCall {
            uri: Uri::parse(&format!("sip:1000@{target}")).unwrap(),
            remote: target,
            transport,
            from_user: "31612345678".into(),
            sdp: offer.clone(),
            route: None,
            credentials: None,
            through: None,
        })
        .await
        .unwrap();
    let call = incoming.recv().await.unwrap();
    assert_eq!(call.info().request_user().as_deref(), Some("1000"));
    assert_eq!(call.info().from_user().as_deref(), Some("31612345678"));
    assert_eq!(call.info().trunk, "loopback");
    assert_eq!(call.info().transport, transport);
    assert_eq!(call.info().offer.as_deref(), Some(&offer[..]));
    let mut answered = call.accept(b"v=0\r\nm=audio 20000 RTP/AVP 0\r\n".to_vec());
    loop {
        match outgoing.next_event().await.unwrap() {
            CallEvent::Answered { sdp } => {
                assert_eq!(sdp, b"v=0\r\nm=audio 20000 RTP/AVP 0\r\n");
                break;
            }
            CallEvent::Progress { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    outgoing.send_info(
        "application/dtmf-relay",
        b"Signal=5\r\nDuration=160\r\n".to_vec(),
    );
    match answered.next_event().await.unwrap() {
        CallEvent::Info {
            request,
            content_type,
            body,
        } => {
            assert_eq!(content_type, "application/dtmf-relay");
            assert_eq!(body, b"Signal=5\r\nDuration=160\r\n");
            answered.answer_info(request, 200);
        }
        other => panic!("{other:?}"),
    }
    answered.hang_up(Reason::q850(16, "Normal call clearing"));
    let ended = |e: Option<CallEvent>| match e {
        Some(CallEvent::Ended(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ended(outgoing.next_event().await),
        EndReason::RemoteHangup {
            reason: Some("Q.850;cause=16;text=\"Normal call clearing\"".into())
        }
    );
    assert_eq!(ended(answered.next_event().await), EndReason::HungUp);
    let mut active = uas.active_calls();
    tokio::time::timeout(Duration::from_secs(10), active.wait_for(|n| *n == 0))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_call_over_udp_with_info_and_our_hang_up() {
    call_over(SipTransport::Udp).await;
}

#[tokio::test]
async fn a_call_over_tcp_reuses_the_connection() {
    call_over(SipTransport::Tcp).await;
}

#[tokio::test]
async fn a_rejected_outgoing_call_ends_with_the_status() {
    let (uas, mut incoming) = stack().await;
    let (uac, _) = stack().await;
    let target = uas.local_addrs()[0].1;
    let mut outgoing = uac
        .call(OutgoingCall {
            uri: Uri::parse(&format!("sip:1000@{target}")).unwrap(),
            remote: target,
            transport: SipTransport::Udp,
            from_user: "1".into(),
            sdp: b"v=0\r\n".to_vec(),
            route: None,
            credentials: None,
            through: None,
        })
        .await
        .unwrap();
    incoming.recv().await.unwrap().reject(488, None);
    loop {
        match outgoing.next_event().await.unwrap() {
            CallEvent::Progress { .. } => {}
            CallEvent::Ended(r) => {
                assert_eq!(r, EndReason::Rejected(488));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}
