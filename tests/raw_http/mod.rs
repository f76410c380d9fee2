//! HTTP/1.1 over a plain `TcpStream`, for the requests a well-behaved client library will not
//! send (a body short of its length, bytes no header may hold, a head sent a byte at a time) and
//! for watching when the server closes. Every read is bounded in time.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest a test waits on one socket.
pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(15);

/// One parsed answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Header lines as sent, names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

pub async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// Sends `request` (which should ask for `connection: close`), half-closes, and reads the
/// answer to the end.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut stream = connect(addr).await;
    stream.write_all(request).await.expect("send");
    // Half-closing tells the server no more bytes come: a short body ends here.
    stream.shutdown().await.expect("half-close");
    parse(&read_to_end(&mut stream).await)
}

/// Everything the server sends until it closes.
pub async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(SOCKET_TIMEOUT, stream.read_to_end(&mut bytes))
        .await
        .expect("the server closes in time")
        .expect("read");
    bytes
}

/// How long until the server closes `stream` (reading and dropping whatever it sends first).
pub async fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    read_to_end(stream).await;
    start.elapsed()
}

/// Reads one answer whose body has a `content-length`, leaving the connection open.
pub async fn read_one(stream: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + SOCKET_TIMEOUT;
    loop {
        if let Some(end) = find(&bytes, b"\r\n\r\n") {
            let answer = parse(&bytes);
            let length: usize = answer
                .header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return answer;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed before a whole answer: {bytes:?}");
        bytes.extend_from_slice(&buf[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses the first answer in `bytes`.
pub fn parse(bytes: &[u8]) -> Answer {
    let end = find(bytes, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no whole head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let body_start = end + 4;
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body_end = length.map_or(bytes.len(), |l| (body_start + l).min(bytes.len()));
    Answer {
        status,
        headers,
        body: bytes[body_start..body_end].to_vec(),
    }
}
