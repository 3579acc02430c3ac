//! The metric model shared by the collectors and the encoders.
//!
//! A scrape builds one [`MetricSet`]: families in first-seen order, each with
//! a name (already namespaced, e.g. `redis_up`), a help text, a [`Kind`] and
//! its samples. Families are rebuilt on every scrape (the exporter keeps no
//! series between scrapes except its own counters, see [`crate::http`]), so
//! series of a vanished command or replica disappear as they do with
//! redis_exporter. The encoders in [`crate::expo`] and [`crate::otlp`] only
//! read this model.

use std::collections::HashMap;

/// The metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic counter.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Pre-computed quantiles with `_sum` and `_count`.
    Summary,
    /// Cumulative buckets with `_sum` and `_count`.
    Histogram,
}

impl Kind {
    /// The word used on `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
            Kind::Histogram => "histogram",
        }
    }
}

/// Label pairs in the order they are written.
pub type Labels = Vec<(String, String)>;

/// The value of one sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Counter or gauge value.
    Single(f64),
    /// Summary: `(quantile label, value)` pairs, sum and count.
    Summary {
        /// Quantile label value (`"50"`, `"99.9"`, as redis_exporter writes them) and value.
        quantiles: Vec<(String, f64)>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
    /// Histogram: cumulative `(upper bound, count)` buckets, +Inf excluded (it is `count`).
    Histogram {
        /// Cumulative buckets by ascending upper bound.
        buckets: Vec<(f64, u64)>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations (the +Inf bucket).
        count: u64,
    },
}

/// One labelled value of a family.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Labels of this series (the target's constant labels are appended last).
    pub labels: Labels,
    /// Its value.
    pub value: Value,
}

/// A metric family.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    /// Full name, namespace included.
    pub name: String,
    /// Help text.
    pub help: String,
    /// Type.
    pub kind: Kind,
    /// Samples, in insertion order.
    pub samples: Vec<Sample>,
}

/// All families of one exposition.
#[derive(Clone, Debug, Default)]
pub struct MetricSet {
    namespace: String,
    families: Vec<Family>,
    index: HashMap<String, usize>,
}

/// Label pairs from string slices.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

impl MetricSet {
    /// An empty set whose names are prefixed with `namespace_`.
    pub fn new(namespace: &str) -> MetricSet {
        MetricSet {
            namespace: namespace.to_string(),
            ..MetricSet::default()
        }
    }

    /// The namespace (`redis` by default).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Families in first-seen order.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// Consume into families.
    pub fn into_families(self) -> Vec<Family> {
        self.families
    }

    /// The family with this full name.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.index.get(name).and_then(|&i| self.families.get(i))
    }

    fn full_name(&self, name: &str) -> String {
        if self.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}_{name}", self.namespace)
        }
    }

    /// Add a sample to family `name` (namespace added here). The first call for
    /// a name fixes its help and kind; a later call with another kind is
    /// dropped, because one name cannot carry two types in an exposition.
    pub fn push(&mut self, name: &str, help: &str, kind: Kind, labels: Labels, value: Value) {
        let full = self.full_name(name);
        let i = match self.index.get(&full) {
            Some(&i) => i,
            None => {
                self.families.push(Family {
                    name: full.clone(),
                    help: help.to_string(),
                    kind,
                    samples: Vec::new(),
                });
                self.index.insert(full, self.families.len() - 1);
                self.families.len() - 1
            }
        };
        if let Some(f) = self.families.get_mut(i) {
            if f.kind == kind {
                f.samples.push(Sample { labels, value });
            }
        }
    }

    /// A gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: Labels, v: f64) {
        self.push(name, help, Kind::Gauge, labels, Value::Single(v));
    }

    /// A counter sample.
    pub fn counter(&mut self, name: &str, help: &str, labels: Labels, v: f64) {
        self.push(name, help, Kind::Counter, labels, Value::Single(v));
    }

    /// Append every family of `other` (same namespace assumed), merging samples by name.
    pub fn extend(&mut self, other: MetricSet) {
        for f in other.families {
            let i = match self.index.get(&f.name) {
                Some(&i) => i,
                None => {
                    self.index.insert(f.name.clone(), self.families.len());
                    self.families.push(Family {
                        samples: Vec::new(),
                        ..f.clone()
                    });
                    self.families.len() - 1
                }
            };
            if let Some(dst) = self.families.get_mut(i) {
                if dst.kind == f.kind {
                    dst.samples.extend(f.samples);
                }
            }
        }
    }

    /// Append these labels to every sample (per-target labels from the config).
    /// A label the sample already has keeps the sample's value.
    pub fn add_labels(&mut self, extra: &[(String, String)]) {
        if extra.is_empty() {
            return;
        }
        for f in &mut self.families {
            for s in &mut f.samples {
                for (k, v) in extra {
                    if !s.labels.iter().any(|(sk, _)| sk == k) {
                        s.labels.push((k.clone(), v.clone()));
                    }
                }
            }
        }
    }

    /// The value of the single-valued sample of `name` whose labels include all of `want`.
    pub fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        self.family(name)?.samples.iter().find_map(|s| {
            let all = want
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v));
            match (&s.value, all) {
                (Value::Single(x), true) => Some(*x),
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_keep_first_seen_order_and_merge_samples() {
        let mut m = MetricSet::new("redis");
        m.gauge("up", "up", vec![], 1.0);
        m.counter("commands_total", "calls", labels(&[("cmd", "get")]), 3.0);
        m.counter("commands_total", "calls", labels(&[("cmd", "set")]), 4.0);
        let names: Vec<&str> = m.families().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["redis_up", "redis_commands_total"]);
        assert_eq!(
            m.value("redis_commands_total", &[("cmd", "set")]),
            Some(4.0)
        );
        // A second kind under the same name is dropped, never mixed.
        m.gauge("commands_total", "x", vec![], 9.0);
        assert_eq!(
            m.family("redis_commands_total").map(|f| f.samples.len()),
            Some(2)
        );
    }

    #[test]
    fn add_labels_does_not_override_sample_labels() {
        let mut m = MetricSet::new("redis");
        m.gauge("db_keys", "k", labels(&[("db", "db0")]), 1.0);
        m.add_labels(&[("db".into(), "x".into()), ("env".into(), "prod".into())]);
        let s = &m.families()[0].samples[0];
        assert_eq!(s.labels, labels(&[("db", "db0"), ("env", "prod")]));
    }
}
