//! WATCHed keys of one database: a version per watched key, bumped by
//! every change to the key (write, delete, expiry, flush), so EXEC can tell
//! whether anything touched a key since its client watched it.
//!
//! Only keys some client watches are in the map, and an empty map costs
//! every write one length check. Watchers are counted so the entry goes
//! away with the last UNWATCH (EXEC, DISCARD, disconnect).

use std::collections::HashMap;

#[derive(Debug, Default, Clone, Copy)]
struct Watch {
    version: u64,
    watchers: u32,
}

/// Watched keys and their versions.
#[derive(Debug, Default)]
pub struct Watches {
    keys: HashMap<Box<[u8]>, Watch>,
}

impl Watches {
    /// Record a change to `key`.
    #[inline]
    pub fn touch(&mut self, key: &[u8]) {
        if self.keys.is_empty() {
            return;
        }
        if let Some(w) = self.keys.get_mut(key) {
            w.version += 1;
        }
    }

    /// Record a change to every watched key for which `present` is true
    /// (FLUSHDB touches only the watched keys that existed).
    pub fn touch_where(&mut self, mut present: impl FnMut(&[u8]) -> bool) {
        for (k, w) in self.keys.iter_mut() {
            if present(k) {
                w.version += 1;
            }
        }
    }

    /// Start watching `key`; returns its current version.
    pub fn watch(&mut self, key: &[u8]) -> u64 {
        let w = self.keys.entry(key.into()).or_default();
        w.watchers += 1;
        w.version
    }

    /// One watcher of `key` stops watching.
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some(w) = self.keys.get_mut(key) {
            w.watchers = w.watchers.saturating_sub(1);
            if w.watchers == 0 {
                self.keys.remove(key);
            }
        }
    }

    /// The current version of a watched key (None if nobody watches it).
    pub fn version(&self, key: &[u8]) -> Option<u64> {
        self.keys.get(key).map(|w| w.version)
    }

    /// True when no key is watched.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_watchers() {
        let mut w = Watches::default();
        w.touch(b"a");
        let v = w.watch(b"a");
        assert_eq!(w.watch(b"a"), v);
        w.touch(b"a");
        w.touch(b"b");
        assert_eq!(w.version(b"a"), Some(v + 1));
        w.unwatch(b"a");
        assert!(!w.is_empty());
        w.unwatch(b"a");
        assert!(w.is_empty());
        assert_eq!(w.version(b"a"), None);
    }
}
