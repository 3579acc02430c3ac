//! The clients connected to one shard, for CLIENT LIST / INFO / KILL and
//! INFO clients. A connection task owns its `ClientInfo` (behind `Rc`) and
//! updates the cells as it works; the registry only lists them.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// What a client connection is, for CLIENT LIST `flags=` and KILL TYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// An ordinary client.
    Normal,
    /// Subscribed to channels (issue 4).
    Pubsub,
}

/// Live facts about one connection.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Last command time, Unix ms.
    pub last_ms: Cell<i64>,
    pub name: RefCell<Vec<u8>>,
    pub lib_name: RefCell<Vec<u8>>,
    pub lib_ver: RefCell<Vec<u8>>,
    pub db: Cell<usize>,
    pub resp: Cell<u8>,
    pub last_cmd: Cell<&'static str>,
    pub kind: Cell<ClientKind>,
    /// Set by CLIENT KILL: the connection closes after its current reply.
    pub killed: Cell<bool>,
    pub qbuf: Cell<usize>,
    pub qbuf_free: Cell<usize>,
    pub obuf: Cell<usize>,
    pub tot_net_in: Cell<u64>,
    pub tot_net_out: Cell<u64>,
    pub tot_cmds: Cell<u64>,
    pub no_evict: Cell<bool>,
    pub no_touch: Cell<bool>,
    /// Channel, pattern and shard-channel subscriptions (`sub= psub= ssub=`).
    pub subs: Cell<(u32, u32, u32)>,
    /// Commands queued since MULTI, or -1 outside MULTI (`multi=`).
    pub multi: Cell<i32>,
    /// Blocked in BLPOP & co (`b` flag).
    pub blocked: Cell<bool>,
    /// A MONITOR client (`O` flag).
    pub monitor: Cell<bool>,
}

impl ClientInfo {
    /// A new client record.
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, now_ms: i64) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created_ms: now_ms,
            last_ms: Cell::new(now_ms),
            name: RefCell::new(Vec::new()),
            lib_name: RefCell::new(Vec::new()),
            lib_ver: RefCell::new(Vec::new()),
            db: Cell::new(0),
            resp: Cell::new(2),
            last_cmd: Cell::new("NULL"),
            kind: Cell::new(ClientKind::Normal),
            killed: Cell::new(false),
            qbuf: Cell::new(0),
            qbuf_free: Cell::new(0),
            obuf: Cell::new(0),
            tot_net_in: Cell::new(0),
            tot_net_out: Cell::new(0),
            tot_cmds: Cell::new(0),
            no_evict: Cell::new(false),
            no_touch: Cell::new(false),
            subs: Cell::new((0, 0, 0)),
            multi: Cell::new(-1),
            blocked: Cell::new(false),
            monitor: Cell::new(false),
        }
    }

    /// One CLIENT LIST / CLIENT INFO line (without the trailing newline), in
    /// Redis 7.2's field order.
    pub fn line(&self, now_ms: i64) -> String {
        let age = (now_ms - self.created_ms).max(0) / 1000;
        let idle = (now_ms - self.last_ms.get()).max(0) / 1000;
        let mut flags = String::new();
        if self.monitor.get() {
            flags.push('O');
        }
        if self.kind.get() == ClientKind::Pubsub {
            flags.push('P');
        }
        if self.multi.get() >= 0 {
            flags.push('x');
        }
        if self.blocked.get() {
            flags.push('b');
        }
        if self.no_evict.get() {
            flags.push('e');
        }
        if self.no_touch.get() {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let name = String::from_utf8_lossy(&self.name.borrow()).into_owned();
        let lib_name = String::from_utf8_lossy(&self.lib_name.borrow()).into_owned();
        let lib_ver = String::from_utf8_lossy(&self.lib_ver.borrow()).into_owned();
        let qbuf = self.qbuf.get();
        let qbuf_free = self.qbuf_free.get();
        let omem = self.obuf.get();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            age,
            idle,
            flags,
            self.db.get(),
            self.subs.get().0,
            self.subs.get().1,
            self.subs.get().2,
            self.multi.get(),
            qbuf,
            qbuf_free,
            qbuf + qbuf_free,
            qbuf,
            omem,
            qbuf + qbuf_free + omem,
            self.last_cmd.get(),
            self.resp.get(),
            lib_name,
            lib_ver,
        )
    }
}

/// The clients of one shard, by id.
#[derive(Default)]
pub struct ClientRegistry {
    map: BTreeMap<u64, Rc<ClientInfo>>,
}

impl ClientRegistry {
    /// Add a client.
    pub fn add(&mut self, c: Rc<ClientInfo>) {
        self.map.insert(c.id, c);
    }

    /// Remove a client.
    pub fn remove(&mut self, id: u64) {
        self.map.remove(&id);
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True without clients.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All clients in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Rc<ClientInfo>> {
        self.map.values()
    }

    /// A client by id.
    pub fn get(&self, id: u64) -> Option<&Rc<ClientInfo>> {
        self.map.get(&id)
    }
}
