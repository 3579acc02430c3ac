//! A RESP connection whose every step is bounded by one deadline.
//!
//! `resp::client::Client` has fixed 5 s / 30 s timeouts; a scrape needs one
//! deadline for connect + every command, so a slow or silent target costs at
//! most the scrape timeout. This module reuses the workspace codec
//! (`resp::decode::decode`, `resp::Frame::command`) and adds only the
//! deadline, a reply size cap (a garbage length header cannot make us buffer
//! without bound) and target-address parsing.

use resp::decode::decode;
use resp::Frame;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest reply we buffer (INFO ALL of a large server is ~20 KiB; CONFIG GET * ~10 KiB).
const MAX_REPLY: usize = 64 * 1024 * 1024;

/// Why a connection or a command failed.
#[derive(Debug)]
pub enum ConnError {
    /// The address could not be parsed or resolved.
    Address(String),
    /// TCP connect failed.
    Connect(io::Error),
    /// The deadline passed.
    Timeout,
    /// Reading or writing failed.
    Io(io::Error),
    /// The peer sent bytes that are not RESP, or too many.
    Protocol(String),
    /// The peer closed the connection.
    Closed,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Address(m) => write!(f, "bad address: {m}"),
            ConnError::Connect(e) => write!(f, "connect failed: {e}"),
            ConnError::Timeout => write!(f, "timed out"),
            ConnError::Io(e) => write!(f, "i/o error: {e}"),
            ConnError::Protocol(m) => write!(f, "protocol error: {m}"),
            ConnError::Closed => write!(f, "connection closed by the server"),
        }
    }
}

impl std::error::Error for ConnError {}

/// Host and port from a target address: `host:port`, `redis://[user:pass@]host:port[/db]`.
/// Returns `(host:port, user, password)`; user and password come from the URL's userinfo.
pub fn parse_address(addr: &str) -> Result<(String, Option<String>, Option<String>), ConnError> {
    let a = addr.trim();
    let rest = if let Some(r) = a.strip_prefix("redis://") {
        r
    } else if a.starts_with("rediss://") {
        return Err(ConnError::Address(format!(
            "{addr}: TLS (rediss://) is not supported"
        )));
    } else if a.starts_with("unix://") {
        return Err(ConnError::Address(format!(
            "{addr}: unix sockets are not supported"
        )));
    } else if a.contains("://") {
        return Err(ConnError::Address(format!(
            "{addr}: unknown scheme (use redis:// or host:port)"
        )));
    } else {
        a
    };
    let (userinfo, hostpart) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let hostport = hostpart.split('/').next().unwrap_or("");
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (
                (!user.is_empty()).then(|| user.to_string()),
                Some(pass.to_string()),
            ),
            None => (None, (!u.is_empty()).then(|| u.to_string())),
        },
        None => (None, None),
    };
    if hostport.is_empty() {
        return Err(ConnError::Address(format!("{addr}: no host")));
    }
    let hostport = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !hostport.ends_with(']')
    {
        hostport.to_string()
    } else {
        format!("{hostport}:6379")
    };
    Ok((hostport, user, password))
}

/// A connection with a deadline.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

fn remaining(deadline: Instant) -> Result<Duration, ConnError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ConnError::Timeout)
    } else {
        Ok(left)
    }
}

fn io_err(e: io::Error) -> ConnError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ConnError::Timeout,
        _ => ConnError::Io(e),
    }
}

impl Conn {
    /// Connect to `host:port` before `deadline`.
    pub fn connect(hostport: &str, deadline: Instant) -> Result<Conn, ConnError> {
        let addrs: Vec<SocketAddr> = hostport
            .to_socket_addrs()
            .map_err(|e| ConnError::Address(format!("{hostport}: {e}")))?
            .collect();
        let mut last = ConnError::Address(format!("{hostport}: no address"));
        for a in addrs {
            let left = remaining(deadline)?;
            match TcpStream::connect_timeout(&a, left) {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(ConnError::Io)?;
                    return Ok(Conn {
                        stream,
                        buf: Vec::with_capacity(32 * 1024),
                        deadline,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => last = ConnError::Timeout,
                Err(e) => last = ConnError::Connect(e),
            }
        }
        Err(last)
    }

    /// Send several commands in one write and read their replies in order.
    /// Server error replies are returned as `Frame::Error`, not as `Err`.
    pub fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) -> Result<Vec<Frame>, ConnError> {
        let mut out = Vec::new();
        for c in cmds {
            out.extend_from_slice(&Frame::command(c));
        }
        self.stream
            .set_write_timeout(Some(remaining(self.deadline)?))
            .map_err(ConnError::Io)?;
        self.stream.write_all(&out).map_err(io_err)?;
        let mut replies = Vec::with_capacity(cmds.len());
        for _ in cmds {
            replies.push(self.read()?);
        }
        Ok(replies)
    }

    /// Send one command and read its reply.
    pub fn call(&mut self, args: &[&str]) -> Result<Frame, ConnError> {
        let cmd: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut r = self.pipeline(&[cmd])?;
        r.pop().ok_or(ConnError::Closed)
    }

    fn read(&mut self) -> Result<Frame, ConnError> {
        loop {
            if !self.buf.is_empty() {
                match decode(&self.buf) {
                    Ok(Some((frame, used))) => {
                        self.buf.drain(..used);
                        return Ok(frame);
                    }
                    Ok(None) => {}
                    Err(e) => return Err(ConnError::Protocol(e.to_string())),
                }
            }
            if self.buf.len() > MAX_REPLY {
                return Err(ConnError::Protocol(format!(
                    "reply larger than {MAX_REPLY} bytes"
                )));
            }
            self.stream
                .set_read_timeout(Some(remaining(self.deadline)?))
                .map_err(ConnError::Io)?;
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).map_err(io_err)?;
            if n == 0 {
                return Err(ConnError::Closed);
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }
}

/// Build a command from string arguments.
pub fn cmd(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_redis_exporter_forms() {
        let p = |a: &str| parse_address(a).map_err(|e| e.to_string());
        assert_eq!(
            p("localhost:6380"),
            Ok(("localhost:6380".into(), None, None))
        );
        assert_eq!(p("redis://h:7000"), Ok(("h:7000".into(), None, None)));
        assert_eq!(p("redis://h"), Ok(("h:6379".into(), None, None)));
        assert_eq!(
            p("redis://:pw@h:1/0"),
            Ok(("h:1".into(), None, Some("pw".into())))
        );
        assert_eq!(
            p("redis://u:pw@h:1"),
            Ok(("h:1".into(), Some("u".into()), Some("pw".into())))
        );
        assert!(p("rediss://h:1").is_err_and(|e| e.contains("TLS")));
        assert!(p("http://h:1").is_err_and(|e| e.contains("scheme")));
        assert!(p("redis://").is_err());
    }

    #[test]
    fn connect_to_closed_port_fails_fast_and_cleanly() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string());
        let port = l
            .as_ref()
            .map(|l| l.local_addr().map(|a| a.port()).unwrap_or(1))
            .unwrap_or(1);
        drop(l);
        let r = Conn::connect(
            &format!("127.0.0.1:{port}"),
            Instant::now() + Duration::from_secs(2),
        );
        assert!(matches!(r, Err(ConnError::Connect(_))), "{r:?}");
    }
}
