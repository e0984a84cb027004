//! The whole gateway started in-process, as the binary starts it but on listeners bound to
//! port 0 and with a shutdown future of the test's own: it answers health checks over HTTP
//! and OPTIONS probes over SIP, and stops when asked.

#![allow(clippy::unwrap_used)]

mod common;

use common::PATIENCE;
use deflect::gateway::{Gateway, Listeners};
use deflect_config::{Config, SipTransport};

fn config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.sip.listen = vec![
        "udp:127.0.0.1:0".parse().unwrap(),
        "tcp:127.0.0.1:0".parse().unwrap(),
    ];
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_runs_in_process_on_port_0_answers_and_stops_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let gateway = Gateway::prepare(config.clone()).await.unwrap();
    let listeners = Listeners::bind(&config).await.unwrap();
    let http = listeners.http_addr();
    let sip = listeners.sip_addrs();
    assert_ne!(http.port(), 0);
    let udp = sip.iter().find(|(t, _)| *t == SipTransport::Udp).unwrap().1;
    assert_ne!(udp.port(), 0);
    assert!(sip.contains(&(SipTransport::Tcp, udp)), "{sip:?}");

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gateway.run(listeners, metrics, async {
        let _ = stopped.await;
    }));

    // Requests made before the server took its first connection wait in the listener's
    // backlog: nothing to wait for first.
    let (status, body) = tokio::task::spawn_blocking(move || common::get(http, "/healthz"))
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));

    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let local = sock.local_addr().unwrap();
    let options = format!(
        "OPTIONS sip:deflect@{udp} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKinproc1\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag=1\r\nTo: <sip:deflect@{udp}>\r\n\
         Call-ID: inproc1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(options.as_bytes(), udp).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, from) = tokio::time::timeout(PATIENCE, sock.recv_from(&mut buf))
        .await
        .expect("an answer to OPTIONS")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(from, udp);
    assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
    assert!(answer.contains("Call-ID: inproc1\r\n"), "{answer}");

    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, running)
        .await
        .expect("stopped within the patience")
        .unwrap()
        .unwrap();
    // Stopped means the HTTP listener is closed.
    assert!(std::net::TcpStream::connect(http).is_err());
}
