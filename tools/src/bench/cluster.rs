//! Redis Cluster key routing for `--cluster`: hash slots and the slot map.
//!
//! [`slot`] is Redis Cluster's function (CRC16/XMODEM of the key, or of its
//! `{hash tag}`, modulo 16384). [`SlotMap`] is read from `CLUSTER SLOTS` once
//! per target and then kept up to date by the driver as `MOVED` replies arrive
//! (`ASK` is one-shot and never changes the map). Only masters are routed to.
//! [`split_commands`] cuts an operation back into commands, to put `ASKING`
//! before each when an `ASK` redirect is followed.

use resp::Frame;

/// Number of hash slots in a Redis cluster.
pub const SLOTS: usize = 16384;

/// The part of a key that is hashed: the first non-empty `{...}`, else the key.
pub fn hash_part(key: &[u8]) -> &[u8] {
    if let Some(open) = memchr::memchr(b'{', key) {
        let after = key.get(open + 1..).unwrap_or(&[]);
        if let Some(close) = memchr::memchr(b'}', after) {
            if close > 0 {
                return after.get(..close).unwrap_or(key);
            }
        }
    }
    key
}

/// The hash slot of a key.
pub fn slot(key: &[u8]) -> u16 {
    let h = crc16::State::<crc16::XMODEM>::calculate(hash_part(key));
    h % SLOTS as u16
}

/// Which master serves each slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotMap {
    /// `host:port` of every master, in first-seen order.
    pub nodes: Vec<String>,
    /// Index into `nodes` for every slot; `u16::MAX` when no node serves it.
    pub owner: Vec<u16>,
}

/// Marker for a slot that no node serves.
pub const UNOWNED: u16 = u16::MAX;

impl SlotMap {
    /// Build the map from a `CLUSTER SLOTS` reply. `seed_host` replaces an
    /// empty or `?` address (a node that does not know its own IP).
    pub fn from_cluster_slots(reply: &Frame, seed_host: &str) -> Result<SlotMap, String> {
        let ranges = reply
            .as_array()
            .ok_or_else(|| format!("CLUSTER SLOTS returned {reply}, not an array"))?;
        let mut map = SlotMap {
            nodes: Vec::new(),
            owner: vec![UNOWNED; SLOTS],
        };
        for r in ranges {
            let parts = r.as_array().unwrap_or(&[]);
            let (Some(start), Some(end), Some(master)) = (
                parts.first().and_then(Frame::as_int),
                parts.get(1).and_then(Frame::as_int),
                parts.get(2).and_then(Frame::as_array),
            ) else {
                return Err(format!("unexpected CLUSTER SLOTS entry {r}"));
            };
            let host = master.first().and_then(Frame::as_text).unwrap_or_default();
            let host = if host.is_empty() || host == "?" {
                seed_host.to_string()
            } else {
                host
            };
            let port = master
                .get(1)
                .and_then(Frame::as_int)
                .ok_or_else(|| format!("CLUSTER SLOTS entry without a port: {r}"))?;
            let addr = format!("{host}:{port}");
            let idx = map.node_index(&addr);
            let (start, end) = (start.clamp(0, 16383) as usize, end.clamp(0, 16383) as usize);
            for s in map.owner.iter_mut().take(end + 1).skip(start) {
                *s = idx;
            }
        }
        if map.nodes.is_empty() {
            return Err("CLUSTER SLOTS lists no node: is the cluster set up?".into());
        }
        Ok(map)
    }

    /// The index of `addr`, adding it when new.
    pub fn node_index(&mut self, addr: &str) -> u16 {
        if let Some(i) = self.nodes.iter().position(|n| n == addr) {
            return i as u16;
        }
        self.nodes.push(addr.to_string());
        (self.nodes.len() - 1) as u16
    }

    /// The node serving `slot`, if any.
    pub fn owner_of(&self, slot: u16) -> Option<u16> {
        self.owner
            .get(usize::from(slot))
            .copied()
            .filter(|&o| o != UNOWNED)
    }

    /// Slots with no owner (a cluster still being set up).
    pub fn unowned(&self) -> usize {
        self.owner.iter().filter(|&&o| o == UNOWNED).count()
    }
}

/// Split an operation's bytes into its `n` multibulk commands.
pub fn split_commands(bytes: &[u8], n: u32) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    for _ in 0..n {
        match command_len(rest) {
            Some(len) => {
                let (cmd, tail) = rest.split_at(len.min(rest.len()));
                out.push(cmd);
                rest = tail;
            }
            None => break,
        }
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Length of the multibulk command at the front of `b` (commands we encoded ourselves).
fn command_len(b: &[u8]) -> Option<usize> {
    let line_end = |from: usize| memchr::memmem::find(b.get(from..)?, b"\r\n").map(|i| from + i);
    let e = line_end(0)?;
    let n: usize = std::str::from_utf8(b.get(1..e)?).ok()?.parse().ok()?;
    let mut pos = e + 2;
    for _ in 0..n {
        let e = line_end(pos)?;
        let len: usize = std::str::from_utf8(b.get(pos + 1..e)?).ok()?.parse().ok()?;
        pos = e + 2 + len + 2;
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
        assert_eq!(slot(b"123456789"), 12739);
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"));
        assert_eq!(hash_part(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_part(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_part(b"foo{bar}{zap}"), b"bar");
    }

    #[test]
    fn reads_cluster_slots() {
        let node = |h: &str, p: i64| {
            Frame::Array(vec![Frame::bulk(h), Frame::Integer(p), Frame::bulk("id")])
        };
        let reply = Frame::Array(vec![
            Frame::Array(vec![
                Frame::Integer(0),
                Frame::Integer(5460),
                node("127.0.0.1", 7000),
                node("127.0.0.1", 7003),
            ]),
            Frame::Array(vec![
                Frame::Integer(5461),
                Frame::Integer(10922),
                node("", 7001),
            ]),
            Frame::Array(vec![
                Frame::Integer(10923),
                Frame::Integer(16383),
                node("127.0.0.1", 7002),
            ]),
            Frame::Array(vec![
                Frame::Integer(16000),
                Frame::Integer(16000),
                node("127.0.0.1", 7000),
            ]),
        ]);
        let map = SlotMap::from_cluster_slots(&reply, "10.1.1.1").unwrap();
        assert_eq!(
            map.nodes,
            vec!["127.0.0.1:7000", "10.1.1.1:7001", "127.0.0.1:7002"]
        );
        assert_eq!(map.owner_of(0), Some(0));
        assert_eq!(map.owner_of(5461), Some(1));
        assert_eq!(map.owner_of(16383), Some(2));
        assert_eq!(map.owner_of(16000), Some(0));
        assert_eq!(map.unowned(), 0);
        assert!(SlotMap::from_cluster_slots(&Frame::Array(vec![]), "h").is_err());
        assert!(SlotMap::from_cluster_slots(&Frame::simple("OK"), "h").is_err());
    }

    #[test]
    fn splits_an_operation_into_commands() {
        let a = resp::Frame::command(["INCR", "k"]);
        let b = resp::Frame::command(["PEXPIRE", "k", "100", "NX"]);
        let both = [a.clone(), b.clone()].concat();
        assert_eq!(split_commands(&both, 2), vec![a.as_slice(), b.as_slice()]);
        assert_eq!(split_commands(&a, 1), vec![a.as_slice()]);
    }
}
