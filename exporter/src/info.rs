//! Parsing `INFO` replies.
//!
//! `INFO` is text: `# Section` headers, `key:value` lines, CRLF or LF line
//! ends. Values are split at the first `:` only (Redis 7's commandstats keys
//! such as `cmdstat_config|get` contain no `:`, but `os` values may). Several
//! values are themselves `k=v,k=v` lists (`db0:keys=1,expires=0,avg_ttl=0`,
//! `slave0:ip=...`, `cmdstat_get:calls=...`, shoal's `shard0:keys=...`):
//! [`kv_list`] splits those. Nothing here fails: a line that is neither a
//! header nor `k:v` is skipped, so garbage in yields fewer metrics, not a panic.

/// A parsed `INFO` reply: sections in order, each with its fields in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Info {
    sections: Vec<Section>,
}

/// One `# Name` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Section {
    /// The section name as written (`Server`, `Keyspace`, `Shards`, ...).
    pub name: String,
    /// `key:value` fields in order.
    pub fields: Vec<(String, String)>,
}

impl Info {
    /// Parse INFO text.
    pub fn parse(text: &str) -> Info {
        let mut sections: Vec<Section> = Vec::new();
        for raw in text.split('\n') {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('#') {
                sections.push(Section {
                    name: name.trim().to_string(),
                    fields: Vec::new(),
                });
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if sections.is_empty() {
                // Fields before any header (old servers, hand-made replies).
                sections.push(Section::default());
            }
            if let Some(s) = sections.last_mut() {
                s.fields.push((k.to_string(), v.to_string()));
            }
        }
        Info { sections }
    }

    /// All sections in order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The section with this name (case-insensitive).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// True when a section with this name is present.
    pub fn has_section(&self, name: &str) -> bool {
        self.section(name).is_some()
    }

    /// The first field with this key in any section.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The field as a number (see [`parse_number`]).
    pub fn number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(parse_number)
    }

    /// Every field of every section, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sections
            .iter()
            .flat_map(|s| s.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl Section {
    /// The field with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A field value as a number, the way redis_exporter reads them: plain
/// numbers, `ok`/`up` as 1 and `err`/`down`/`fail` as 0, a trailing `%` dropped.
pub fn parse_number(v: &str) -> Option<f64> {
    let v = v.trim();
    match v {
        "ok" | "up" => return Some(1.0),
        "err" | "down" | "fail" => return Some(0.0),
        _ => {}
    }
    let v = v.strip_suffix('%').unwrap_or(v);
    v.parse::<f64>().ok().filter(|x| !x.is_nan())
}

/// Split a `k=v,k=v` value into pairs (pairs without `=` are skipped).
pub fn kv_list(v: &str) -> Vec<(&str, &str)> {
    v.split(',')
        .filter_map(|part| part.split_once('='))
        .collect()
}

/// The value of `key` in a `k=v,k=v` list.
pub fn kv_get<'a>(list: &[(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    list.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_fields_and_crlf() {
        let info = Info::parse("# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1 x86_64\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=5\r\n");
        assert_eq!(info.sections().len(), 2);
        assert_eq!(info.get("redis_version"), Some("7.0.15"));
        let ks = info.section("keyspace").map(|s| s.fields.clone());
        assert_eq!(
            ks,
            Some(vec![("db0".into(), "keys=2,expires=1,avg_ttl=5".into())])
        );
        assert_eq!(
            kv_list("keys=2,expires=1,avg_ttl=5"),
            [("keys", "2"), ("expires", "1"), ("avg_ttl", "5")]
        );
    }

    #[test]
    fn value_after_first_colon_is_kept_whole() {
        let info = Info::parse("executable:/usr/bin/redis-server\naddr:127.0.0.1:6379\n");
        assert_eq!(info.get("addr"), Some("127.0.0.1:6379"));
    }

    #[test]
    fn numbers_and_status_words() {
        assert_eq!(parse_number("ok"), Some(1.0));
        assert_eq!(parse_number("err"), Some(0.0));
        assert_eq!(parse_number("96.63%"), Some(96.63));
        assert_eq!(parse_number("1.44M"), None);
        assert_eq!(parse_number("-1"), Some(-1.0));
    }

    #[test]
    fn garbage_yields_nothing_rather_than_failing() {
        let info = Info::parse("\u{0}\u{1}garbage\n:::\n#\n");
        assert!(info.get("garbage").is_none());
        assert_eq!(info.get(""), Some("::"));
    }
}
