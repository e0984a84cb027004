//! The fake Cloud API the deflecting flow's templates go to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The fake Cloud API: answers every POST like Meta and notes when each recipient's request
/// arrived (wall clock, to compare with the BYEs the calls saw).
pub(crate) async fn fake_provider(port: u16, seen: Arc<Mutex<HashMap<String, SystemTime>>>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the fake provider's port is free");
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let mut n_done = 0u64;
            loop {
                // Headers, then Content-Length bytes of body; keep-alive.
                let (head_end, length) = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                while buf.len() < head_end + length {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let at = SystemTime::now();
                let body: serde_json::Value =
                    serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or_default();
                if let Some(to) = body["to"].as_str() {
                    seen.lock().expect("not poisoned").insert(to.to_owned(), at);
                }
                buf.drain(..head_end + length);
                n_done += 1;
                let answer = format!(
                    r#"{{"messaging_product":"whatsapp","contacts":[{{"input":"x","wa_id":"x"}}],"messages":[{{"id":"wamid.load{n_done}"}}]}}"#
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if conn.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}
