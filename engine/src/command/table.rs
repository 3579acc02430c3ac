//! The assembled command table: every family's rows, flattened with their
//! subcommands, indexed by lowercase name. This is the single source of
//! truth that dispatch, COMMAND and INFO commandstats read.

use super::spec::{CmdId, CommandSpec};
use ahash::AHashMap as HashMap;
use std::sync::LazyLock;

/// One command or subcommand in the table.
pub struct TableEntry {
    /// Its row.
    pub spec: &'static CommandSpec,
    /// The container, for a subcommand.
    pub parent: Option<CmdId>,
    /// `get`, or `client|setname` for a subcommand.
    pub fullname: String,
    /// Subcommand ids of a container, by lowercase name.
    pub subs: HashMap<&'static [u8], CmdId>,
}

/// All commands.
pub struct Table {
    entries: Vec<TableEntry>,
    by_name: HashMap<&'static [u8], CmdId>,
}

fn families() -> Vec<&'static [CommandSpec]> {
    vec![
        super::connection::COMMANDS,
        super::client::COMMANDS,
        super::string::COMMANDS,
        super::multikey::COMMANDS,
        super::hash::COMMANDS,
        super::set::COMMANDS,
        super::list::COMMANDS,
        super::blocking::COMMANDS,
        super::zset::COMMANDS,
        super::zset_multi::COMMANDS,
        super::bitmap::COMMANDS,
        super::hll::COMMANDS,
        super::keys::COMMANDS,
        super::multi::COMMANDS,
        super::pubsub::COMMANDS,
        super::replication::COMMANDS,
        super::scripting::COMMANDS,
        super::function::COMMANDS,
        super::latency::COMMANDS,
        super::monitor::COMMANDS,
        super::dump::COMMANDS,
        super::server::COMMANDS,
        super::persistence::COMMANDS,
        super::config::COMMANDS,
        super::info::COMMANDS,
        super::introspect::COMMANDS,
    ]
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut entries: Vec<TableEntry> = Vec::new();
    let mut by_name = HashMap::default();
    for family in families() {
        for spec in family {
            let id = entries.len() as CmdId;
            by_name.insert(spec.name.as_bytes(), id);
            entries.push(TableEntry {
                spec,
                parent: None,
                fullname: spec.name.to_string(),
                subs: HashMap::default(),
            });
            for sub in spec.subcommands {
                let sid = entries.len() as CmdId;
                entries.push(TableEntry {
                    spec: sub,
                    parent: Some(id),
                    fullname: format!("{}|{}", spec.name, sub.name),
                    subs: HashMap::default(),
                });
                if let Some(parent) = entries.get_mut(usize::from(id)) {
                    parent.subs.insert(sub.name.as_bytes(), sid);
                }
            }
        }
    }
    Table { entries, by_name }
});

/// The global command table.
pub fn table() -> &'static Table {
    &TABLE
}

/// Lowercase `name` into `buf` (no allocation); `None` when too long to be a command.
fn lower<'b>(name: &[u8], buf: &'b mut [u8; 64]) -> Option<&'b [u8]> {
    if name.len() > buf.len() {
        return None;
    }
    let dst = buf.get_mut(..name.len())?;
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(dst)
}

impl Table {
    /// Find a top-level command by name, case-insensitively.
    pub fn lookup(&self, name: &[u8]) -> Option<CmdId> {
        let mut buf = [0u8; 64];
        let l = lower(name, &mut buf)?;
        self.by_name.get(l).copied()
    }

    /// Find a subcommand of a container.
    pub fn lookup_sub(&self, parent: CmdId, name: &[u8]) -> Option<CmdId> {
        let mut buf = [0u8; 64];
        let l = lower(name, &mut buf)?;
        self.entries.get(usize::from(parent))?.subs.get(l).copied()
    }

    /// The entry for an id.
    pub fn get(&self, id: CmdId) -> &TableEntry {
        match self.entries.get(usize::from(id)) {
            Some(e) => e,
            // Ids only come from this table.
            None => panic!("command id {id} out of range"),
        }
    }

    /// Number of commands and subcommands.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty (never, in practice).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Top-level commands, with their ids.
    pub fn top_level(&self) -> impl Iterator<Item = (CmdId, &TableEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.parent.is_none())
            .map(|(i, e)| (i as CmdId, e))
    }

    /// Subcommands of a container, with their ids, in table order.
    pub fn subcommands(&self, parent: CmdId) -> impl Iterator<Item = (CmdId, &TableEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.parent == Some(parent))
            .map(|(i, e)| (i as CmdId, e))
    }

    /// All entries with their ids.
    pub fn all(&self) -> impl Iterator<Item = (CmdId, &TableEntry)> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i as CmdId, e))
    }
}
