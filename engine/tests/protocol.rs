//! Raw-byte protocol tests: the same bytes go to shoal-server and
//! redis-server and the bytes that come back (and whether the connection
//! is closed) must match. Covers partial frames, inline commands, huge and
//! invalid lengths, garbage, limits; and a bounded random-garbage run after
//! which the server must still answer.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Pair, ServerExt};
use resp::Frame;
use std::io::Write;
use std::time::Duration;

fn same_bytes(pair: &Pair, label: &str, input: &[u8]) {
    let a = pair.shoal.raw_closed(input);
    let b = pair.redis.raw_closed(input);
    assert_eq!(
        a,
        b,
        "{label}\n  shoal: {:?}\n  redis: {:?}",
        String::from_utf8_lossy(&a.0),
        String::from_utf8_lossy(&b.0)
    );
}

#[test]
fn edge_cases_match_redis_byte_for_byte() {
    let pair = Pair::start();
    let big_inline = vec![b'a'; 70_000];
    let mut big_count = b"*".to_vec();
    big_count.extend(vec![b'1'; 70_000]);
    let mut big_bulk_count = b"*1\r\n$".to_vec();
    big_bulk_count.extend(vec![b'1'; 70_000]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ping inline", b"PING\r\n".to_vec()),
        ("ping inline lf only", b"PING\n".to_vec()),
        ("inline with quotes", b"ECHO \"a b\\x41\\n\"\r\n".to_vec()),
        ("inline single quotes", b"ECHO 'it\\'s'\r\n".to_vec()),
        ("inline empty string arg", b"ECHO \"\"\r\n".to_vec()),
        ("inline unbalanced", b"ECHO \"abc\r\nPING\r\n".to_vec()),
        ("inline quote followed by text", b"ECHO \"a\"b\r\n".to_vec()),
        ("blank lines are skipped", b"\r\n   \r\nPING\r\n".to_vec()),
        ("empty multibulk", b"*0\r\nPING\r\n".to_vec()),
        ("negative multibulk", b"*-5\r\nPING\r\n".to_vec()),
        ("invalid multibulk length", b"*3000000000\r\n".to_vec()),
        ("non-numeric multibulk", b"*x\r\n".to_vec()),
        ("invalid bulk length", b"*1\r\n$600000000\r\n".to_vec()),
        ("negative bulk length", b"*1\r\n$-1\r\n".to_vec()),
        ("expected dollar", b"*1\r\n+ab\r\n".to_vec()),
        (
            "bytes after bulk are not checked",
            b"*1\r\n$4\r\nPINGxx".to_vec(),
        ),
        ("too big inline", big_inline),
        ("too big mbulk count", big_count),
        ("too big bulk count", big_bulk_count),
        (
            "pipeline then error",
            b"SET a 1\r\nGET a\r\n*1\r\n+x\r\nGET a\r\n".to_vec(),
        ),
        (
            "incomplete request waits",
            b"*2\r\n$3\r\nGET\r\n$1\r\n".to_vec(),
        ),
        (
            "binary key with NUL",
            b"*3\r\n$3\r\nSET\r\n$3\r\na\x00b\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$3\r\na\x00b\r\n"
                .to_vec(),
        ),
        ("unknown command inline", b"FOO bar baz\r\n".to_vec()),
        (
            "quit closes after reply",
            b"PING\r\nQUIT\r\nPING\r\n".to_vec(),
        ),
    ];
    for (label, input) in &cases {
        same_bytes(&pair, label, input);
    }
    // Still serving.
    assert_eq!(
        pair.shoal.client().call(["PING"]).unwrap(),
        Frame::simple("PONG")
    );
}

#[test]
fn frames_split_at_every_byte() {
    let pair = Pair::start();
    let input =
        b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n";
    let mut c = pair.shoal.client();
    for &b in input.iter() {
        c.send_raw(&[b]).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(c.read().unwrap(), Frame::simple("OK"));
    assert_eq!(c.read().unwrap(), Frame::bulk("value"));
    assert_eq!(c.read().unwrap(), Frame::simple("PONG"));
}

#[test]
fn big_argument_in_many_packets() {
    let pair = Pair::start();
    let value = vec![b'z'; 3 << 20];
    let mut frame = Frame::command([&b"SET"[..], b"big", &value]);
    frame.extend_from_slice(&Frame::command(["STRLEN", "big"]));
    let mut c = pair.shoal.client();
    for chunk in frame.chunks(7_777) {
        c.send_raw(chunk).unwrap();
    }
    assert_eq!(c.read().unwrap(), Frame::simple("OK"));
    assert_eq!(c.read().unwrap(), Frame::Integer(3 << 20));
}

#[test]
fn proto_max_bulk_len_is_enforced() {
    let pair = Pair::start_with(&[("proto-max-bulk-len", "1mb")]);
    same_bytes(
        &pair,
        "bulk over proto-max-bulk-len",
        b"*2\r\n$4\r\nECHO\r\n$2000000\r\n",
    );
    let mut d = pair.diff();
    d.same("SETRANGE k 1048576 x");
    d.same("APPEND k2 x");
    d.same("SETRANGE k2 1048575 x");
}

#[test]
fn query_buffer_limit_closes_only_that_client() {
    let pair = Pair::start_with(&[("client-query-buffer-limit", "1mb")]);
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        // A bulk that never completes, bigger than the limit.
        c.send_raw(b"*2\r\n$4\r\nECHO\r\n$5000000\r\n").unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let mut closed = false;
        for _ in 0..64 {
            if c.send_raw(&chunk).is_err() {
                closed = true;
                break;
            }
        }
        let (_, eof) = c
            .read_raw(Duration::from_millis(500))
            .unwrap_or((Vec::new(), true));
        assert!(
            closed || eof,
            "{:?} kept a client past client-query-buffer-limit",
            s.kind()
        );
        assert_eq!(s.client().call(["PING"]).unwrap(), Frame::simple("PONG"));
    }
}

#[test]
fn maxclients_refuses_extra_connections() {
    let pair = Pair::start_with(&[("maxclients", "3")]);
    for s in [&pair.shoal, &pair.redis] {
        let mut held: Vec<_> = (0..3).map(|_| s.client()).collect();
        for c in &mut held {
            assert_eq!(c.call(["PING"]).unwrap(), Frame::simple("PONG"));
        }
        let (bytes, _) = s.raw_closed(b"PING\r\n");
        assert_eq!(
            bytes,
            b"-ERR max number of clients reached\r\n",
            "{:?}",
            s.kind()
        );
        drop(held);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(s.client().call(["PING"]).unwrap(), Frame::simple("PONG"));
    }
}

#[test]
fn random_garbage_never_kills_the_server() {
    let pair = Pair::start();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"*$+-:\r\n0123456789abcPINGSETGET \"'\\\x00\xff";
    for round in 0..300 {
        let len = (next() % 300) as usize;
        let mut blob: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        if round % 3 == 0 {
            blob.extend_from_slice(b"\r\nPING\r\n");
        }
        let mut c = pair.shoal.client();
        let _ = c.send_raw(&blob);
        let _ = c.stream().shutdown(std::net::Shutdown::Write);
        let _ = c.read_raw(Duration::from_millis(20));
    }
    let mut c = pair.shoal.client();
    assert_eq!(c.call(["PING"]).unwrap(), Frame::simple("PONG"));
    assert_eq!(
        c.call(["SET", "still", "alive"]).unwrap(),
        Frame::simple("OK")
    );
    let _ = std::io::stderr().flush();
}
