//! Transports (RFC 3261 §18): binding the configured UDP, TCP and TLS listeners.

use deflect_config::{ListenAddr, SipTransport};
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, UdpSocket};

/// A bound SIP socket.
#[derive(Debug)]
pub enum Listener {
    /// A UDP socket.
    Udp(UdpSocket),
    /// A TCP listening socket.
    Tcp(TcpListener),
    /// A TCP listening socket whose connections speak TLS.
    Tls(TcpListener),
}

impl Listener {
    /// Transport of this listener.
    pub fn transport(&self) -> SipTransport {
        match self {
            Self::Udp(_) => SipTransport::Udp,
            Self::Tcp(_) => SipTransport::Tcp,
            Self::Tls(_) => SipTransport::Tls,
        }
    }

    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Udp(s) => s.local_addr(),
            Self::Tcp(s) | Self::Tls(s) => s.local_addr(),
        }
    }
}

/// Binds every listener. When a listener asks for port 0 on an address where another
/// transport already got a port, the same port is tried first, so UDP and TCP share a port
/// as SIP peers expect.
pub async fn bind(listen: &[ListenAddr]) -> io::Result<Vec<Listener>> {
    let mut bound: Vec<Listener> = Vec::with_capacity(listen.len());
    for l in listen {
        let mut addr = l.addr;
        if addr.port() == 0 {
            let sibling = bound
                .iter()
                .filter_map(|b| b.local_addr().ok())
                .find(|b| b.ip() == addr.ip());
            if let Some(sibling) = sibling {
                addr.set_port(sibling.port());
                if let Ok(listener) = bind_one(l.transport, addr).await {
                    bound.push(listener);
                    continue;
                }
                addr.set_port(0);
            }
        }
        let listener = bind_one(l.transport, addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot bind SIP listener {l}: {e}")))?;
        bound.push(listener);
    }
    Ok(bound)
}

async fn bind_one(transport: SipTransport, addr: SocketAddr) -> io::Result<Listener> {
    Ok(match transport {
        SipTransport::Udp => Listener::Udp(UdpSocket::bind(addr).await?),
        SipTransport::Tcp => Listener::Tcp(TcpListener::bind(addr).await?),
        SipTransport::Tls => Listener::Tls(TcpListener::bind(addr).await?),
    })
}
