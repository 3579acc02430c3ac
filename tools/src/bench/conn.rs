//! Connections: where to connect, the blocking handshake, the nonblocking stream.
//!
//! Every connection starts blocking ([`Blocking`]): connect with a timeout,
//! `AUTH`, `SELECT`, any setup command, each reply checked with a clear
//! message. Then [`Blocking::into_stream`] turns it into a nonblocking
//! [`Stream`] that the driver registers with mio. The same blocking client
//! serves the control connection (INFO, CONFIG GET, CLUSTER SLOTS, DEBUG).
//! TCP and unix sockets look the same to everyone above this module.

use resp::decode::decode;
use resp::Frame;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `host:port`
    Tcp(String),
    /// A unix socket path.
    Unix(PathBuf),
}

impl Endpoint {
    /// Parse `host:port`, `[v6]:port` or `unix:/path` (a bare `/path` too).
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(Endpoint::Unix(PathBuf::from(p)));
        }
        if s.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(s)));
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(format!("'{s}' is not host:port"));
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(format!("'{s}' is not host:port"));
        }
        Ok(Endpoint::Tcp(s.to_string()))
    }

    /// The host part (for cluster nodes that report no address).
    pub fn host(&self) -> &str {
        match self {
            Endpoint::Tcp(a) => a.rsplit_once(':').map_or(a.as_str(), |(h, _)| h),
            Endpoint::Unix(_) => "127.0.0.1",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "{a}"),
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What every new connection sends before the benchmark traffic.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    /// `--user` (ACL user name; needs a password).
    pub user: Option<String>,
    /// `-a`
    pub password: Option<String>,
    /// `--dbnum`
    pub db: Option<u32>,
}

enum StdStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// A blocking connection with a small reply reader.
pub struct Blocking {
    stream: StdStream,
    buf: Vec<u8>,
    endpoint: String,
}

/// An error reply or a broken connection, as one readable sentence.
pub type ConnError = String;

fn io_err(endpoint: &str, e: &io::Error) -> ConnError {
    format!("Could not connect to server at {endpoint}: {e}")
}

impl Blocking {
    /// Connect (5 s timeout) and run the handshake.
    pub fn connect(ep: &Endpoint, hs: &Handshake) -> Result<Blocking, ConnError> {
        let name = ep.to_string();
        let timeout = Duration::from_secs(5);
        let stream = match ep {
            Endpoint::Tcp(addr) => {
                let addrs: Vec<_> = addr
                    .to_socket_addrs()
                    .map_err(|e| io_err(&name, &e))?
                    .collect();
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
                let mut ok = None;
                for a in addrs {
                    match TcpStream::connect_timeout(&a, timeout) {
                        Ok(s) => {
                            ok = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = ok.ok_or_else(|| io_err(&name, &last))?;
                s.set_nodelay(true).map_err(|e| io_err(&name, &e))?;
                s.set_read_timeout(Some(Duration::from_secs(30)))
                    .map_err(|e| io_err(&name, &e))?;
                StdStream::Tcp(s)
            }
            Endpoint::Unix(p) => {
                let s = UnixStream::connect(p).map_err(|e| io_err(&name, &e))?;
                s.set_read_timeout(Some(Duration::from_secs(30)))
                    .map_err(|e| io_err(&name, &e))?;
                StdStream::Unix(s)
            }
        };
        let mut c = Blocking {
            stream,
            buf: Vec::new(),
            endpoint: name,
        };
        if let Some(pass) = &hs.password {
            let reply = match &hs.user {
                Some(user) => c.call(&["AUTH", user.as_str(), pass.as_str()])?,
                None => c.call(&["AUTH", pass.as_str()])?,
            };
            if reply.is_error() {
                return Err(format!("AUTH failed on {}: {}", c.endpoint, text(&reply)));
            }
        }
        if let Some(db) = hs.db {
            let reply = c.call(&["SELECT", &db.to_string()])?;
            if reply.is_error() {
                return Err(format!(
                    "SELECT {db} failed on {}: {}",
                    c.endpoint,
                    text(&reply)
                ));
            }
        }
        Ok(c)
    }

    /// Where this connection goes.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Change the read timeout (DEBUG SLEEP, slow setup commands).
    pub fn set_read_timeout(&self, t: Duration) -> io::Result<()> {
        match &self.stream {
            StdStream::Tcp(s) => s.set_read_timeout(Some(t)),
            StdStream::Unix(s) => s.set_read_timeout(Some(t)),
        }
    }

    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match &mut self.stream {
            StdStream::Tcp(s) => s.write_all(b),
            StdStream::Unix(s) => s.write_all(b),
        }
    }

    /// Send a command and read its reply (error replies are `Ok(Frame::Error)`).
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame, ConnError> {
        let bytes = Frame::command(args);
        self.write_all(&bytes)
            .map_err(|e| format!("write to {} failed: {e}", self.endpoint))?;
        self.read()
    }

    /// Read one reply.
    pub fn read(&mut self) -> Result<Frame, ConnError> {
        loop {
            match decode(&self.buf) {
                Ok(Some((f, used))) => {
                    self.buf.drain(..used);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("{} sent {e}", self.endpoint)),
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = match &mut self.stream {
                StdStream::Tcp(s) => s.read(&mut chunk),
                StdStream::Unix(s) => s.read(&mut chunk),
            }
            .map_err(|e| format!("read from {} failed: {e}", self.endpoint))?;
            if n == 0 {
                return Err(format!("{} closed the connection", self.endpoint));
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    /// Make it nonblocking for the event loop.
    pub fn into_stream(self) -> Result<Stream, ConnError> {
        let ep = self.endpoint;
        if !self.buf.is_empty() {
            return Err(format!("{ep} sent unexpected bytes during the handshake"));
        }
        match self.stream {
            StdStream::Tcp(s) => {
                s.set_nonblocking(true).map_err(|e| io_err(&ep, &e))?;
                Ok(Stream::Tcp(mio::net::TcpStream::from_std(s)))
            }
            StdStream::Unix(s) => {
                s.set_nonblocking(true).map_err(|e| io_err(&ep, &e))?;
                Ok(Stream::Unix(mio::net::UnixStream::from_std(s)))
            }
        }
    }
}

/// The text of a reply, for messages.
pub fn text(f: &Frame) -> String {
    f.as_text().unwrap_or_else(|| f.to_string())
}

/// A nonblocking connection registered with the driver's poll.
pub enum Stream {
    /// TCP
    Tcp(mio::net::TcpStream),
    /// Unix socket
    Unix(mio::net::UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Stream {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.register(registry, token, interests),
            Stream::Unix(s) => s.register(registry, token, interests),
        }
    }
    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.reregister(registry, token, interests),
            Stream::Unix(s) => s.reregister(registry, token, interests),
        }
    }
    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.deregister(registry),
            Stream::Unix(s) => s.deregister(registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints() {
        assert_eq!(
            Endpoint::parse("127.0.0.1:7000"),
            Ok(Endpoint::Tcp("127.0.0.1:7000".into()))
        );
        assert_eq!(
            Endpoint::parse("unix:/tmp/r.sock"),
            Ok(Endpoint::Unix("/tmp/r.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("/tmp/r.sock"),
            Ok(Endpoint::Unix("/tmp/r.sock".into()))
        );
        assert!(Endpoint::parse("localhost").is_err());
        assert!(Endpoint::parse("h:99999").is_err());
        assert_eq!(
            Endpoint::parse("[::1]:7000").map(|e| e.host().to_string()),
            Ok("[::1]".into())
        );
    }

    #[test]
    fn unreachable_server_is_a_sentence() {
        // Port 1 on loopback: nothing listens there without root services.
        let err = Blocking::connect(&Endpoint::Tcp("127.0.0.1:1".into()), &Handshake::default())
            .err()
            .unwrap();
        assert!(
            err.starts_with("Could not connect to server at 127.0.0.1:1"),
            "{err}"
        );
    }
}
