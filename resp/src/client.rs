//! A small blocking RESP client over `std::net::TcpStream`.
//!
//! For tests, tools and the sidecars: send commands (or raw bytes), read
//! replies as [`Frame`]s, pipeline. No reconnects, no pooling.

use crate::decode::{decode, DecodeError};
use crate::frame::Frame;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A connection to a RESP server.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
}

fn invalid(e: DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Client {
    /// Connect (with a 5 s connect timeout and 30 s read/write timeouts).
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Client> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
                    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
                    return Ok(Client {
                        stream,
                        buf: Vec::with_capacity(16 * 1024),
                        start: 0,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Change the read timeout (`None` blocks forever).
    pub fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(t)
    }

    /// The underlying socket (to shut it down, read its address, ...).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Send one command without waiting for the reply.
    pub fn send<I, A>(&mut self, args: I) -> io::Result<()>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let bytes = Frame::command(args);
        self.stream.write_all(&bytes)
    }

    /// Send raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Read one reply frame.
    pub fn read(&mut self) -> io::Result<Frame> {
        loop {
            if self.start < self.buf.len() {
                let avail = self.buf.get(self.start..).unwrap_or(&[]);
                if let Some((f, used)) = decode(avail).map_err(invalid)? {
                    self.start += used;
                    if self.start == self.buf.len() {
                        self.buf.clear();
                        self.start = 0;
                    }
                    return Ok(f);
                }
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    /// Send a command and read its reply.
    pub fn call<I, A>(&mut self, args: I) -> io::Result<Frame>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.send(args)?;
        self.read()
    }

    /// Send a command given as one space-separated string (no quoting) and read its reply.
    pub fn cmd(&mut self, line: &str) -> io::Result<Frame> {
        self.call(line.split_whitespace())
    }

    /// Send several commands in one write and read all replies.
    pub fn pipeline<C, I, A>(&mut self, cmds: C) -> io::Result<Vec<Frame>>
    where
        C: IntoIterator<Item = I>,
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let mut bytes = Vec::new();
        let mut n = 0;
        for c in cmds {
            bytes.extend_from_slice(&Frame::command(c));
            n += 1;
        }
        self.stream.write_all(&bytes)?;
        (0..n).map(|_| self.read()).collect()
    }

    /// Read whatever raw bytes arrive until the peer is quiet for `idle` or
    /// closes (tests of exact wire bytes). `closed` tells whether EOF was seen.
    pub fn read_raw(&mut self, idle: Duration) -> io::Result<(Vec<u8>, bool)> {
        let mut out: Vec<u8> = self.buf.drain(self.start..).collect();
        self.buf.clear();
        self.start = 0;
        self.stream.set_read_timeout(Some(idle))?;
        let mut chunk = [0u8; 16 * 1024];
        let closed = loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => out.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut =>
                {
                    break false
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break true,
                Err(e) => return Err(e),
            }
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok((out, closed))
    }
}
