//! The command line: redis-benchmark's flags, then shoal-benchmark's own.
//!
//! redis-benchmark uses `-h` for the host, so clap's `-h` help is off and help
//! is `--help` only, as in redis-benchmark. [`Args::validate`] turns flags into
//! a [`Config`] and rejects nonsense with a sentence (never a panic); the
//! runner only ever sees a valid `Config`.

use crate::bench::conn::{Endpoint, Handshake};
use crate::bench::workload::{check_test_names, KeyDist, RateLimitMode, TxKeys};
use clap::{ArgAction, Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Latency-tail load generator for Redis-protocol servers.
///
/// Accepts redis-benchmark's flags and tests, and adds open-loop pacing
/// corrected for coordinated omission (--rate, --sweep), workload presets,
/// several targets in one run, cluster routing and reports (--report).
#[derive(Debug, Parser)]
#[command(
    name = "shoal-benchmark",
    version,
    disable_help_flag = true,
    max_term_width = 100
)]
pub struct Args {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,

    /// Server hostname.
    #[arg(short = 'h', default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
    /// Server port.
    #[arg(short = 'p', default_value_t = 6379, value_name = "PORT")]
    pub port: u16,
    /// Server unix socket (overrides host and port).
    #[arg(short = 's', value_name = "SOCKET")]
    pub socket: Option<PathBuf>,
    /// Password for AUTH.
    #[arg(short = 'a', value_name = "PASSWORD")]
    pub password: Option<String>,
    /// ACL user name for `AUTH user pass` (needs -a).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Parallel connections (clients).
    #[arg(short = 'c', default_value_t = 50, value_name = "CLIENTS")]
    pub clients: usize,
    /// Total requests per test (closed loop; open loop without --duration).
    #[arg(short = 'n', default_value_t = 100_000, value_name = "REQUESTS")]
    pub requests: u64,
    /// Value size in bytes for SET/GET and the other standard tests.
    #[arg(short = 'd', default_value_t = 3, value_name = "SIZE")]
    pub datasize: usize,
    /// SELECT this database on every connection.
    #[arg(long, value_name = "DB")]
    pub dbnum: Option<u32>,
    /// Worker threads (clients are spread over them).
    #[arg(long, default_value_t = 1, value_name = "NUM")]
    pub threads: usize,
    /// Cluster mode: route by hash slot (CLUSTER SLOTS), follow MOVED/ASK.
    #[arg(long)]
    pub cluster: bool,
    /// 1 = keep alive, 0 = reconnect after every batch.
    #[arg(short = 'k', default_value_t = 1, value_name = "BOOLEAN", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub keepalive: u8,
    /// Random keys: replace __rand_int__ by a 12-digit number below KEYSPACELEN.
    #[arg(short = 'r', value_name = "KEYSPACELEN")]
    pub keyspace: Option<u64>,
    /// Pipeline depth (closed loop).
    #[arg(short = 'P', default_value_t = 1, value_name = "NUMREQ")]
    pub pipeline: u32,
    /// Quiet: one line per test.
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Decimal places of latencies in the output.
    #[arg(long, value_name = "DIGITS")]
    pub precision: Option<usize>,
    /// CSV output.
    #[arg(long)]
    pub csv: bool,
    /// Loop: run the tests forever.
    #[arg(short = 'l')]
    pub forever: bool,
    /// Comma-separated tests (ping, set, get, ..., lrange, mset).
    #[arg(short = 't', value_name = "TESTS", value_delimiter = ',')]
    pub tests: Vec<String>,

    /// Open loop: this many requests per second over all connections, latency
    /// measured from the intended send time.
    #[arg(long, value_name = "R", help_heading = "Open loop")]
    pub rate: Option<f64>,
    /// Run each test this long (seconds) instead of -n requests.
    #[arg(long, value_name = "SECS", help_heading = "Open loop")]
    pub duration: Option<f64>,
    /// Latency vs offered load: open-loop runs at each rate, stopping at saturation.
    #[arg(
        long,
        value_name = "R1,R2,...",
        value_delimiter = ',',
        help_heading = "Open loop"
    )]
    pub sweep: Vec<f64>,
    /// Open loop: unanswered requests allowed per connection before sending waits.
    #[arg(
        long,
        default_value_t = 10_000,
        value_name = "N",
        help_heading = "Open loop"
    )]
    pub max_inflight: u32,

    /// A workload preset instead of the standard tests.
    #[arg(long, value_enum, help_heading = "Workloads")]
    pub preset: Option<Preset>,
    /// session: fraction of reads (HGETALL); the rest are HSET+PEXPIRE.
    #[arg(
        long,
        default_value_t = 0.8,
        value_name = "F",
        help_heading = "Workloads"
    )]
    pub read_ratio: f64,
    /// session: TTL set by PEXPIRE on every write, ms.
    #[arg(
        long,
        default_value_t = 1_800_000,
        value_name = "MS",
        help_heading = "Workloads"
    )]
    pub ttl_ms: u64,
    /// ratelimit: INCR+PEXPIRE pipelined, or EVALSHA of a script.
    #[arg(long, value_enum, default_value = "incr", help_heading = "Workloads")]
    pub ratelimit_mode: RateLimitArg,
    /// ratelimit: window length, ms.
    #[arg(
        long,
        default_value_t = 60_000,
        value_name = "MS",
        help_heading = "Workloads"
    )]
    pub window_ms: u64,
    /// tx: the three keys of a transaction on one shard (one hash tag), or on
    /// three consecutive slots (cross-shard in Shoal).
    #[arg(
        long,
        value_enum,
        default_value = "one-shard",
        help_heading = "Workloads"
    )]
    pub tx_keys: TxKeysArg,
    /// publish: connections that SUBSCRIBE to the channel and read every message.
    #[arg(
        long,
        default_value_t = 10,
        value_name = "N",
        help_heading = "Workloads"
    )]
    pub subscribers: usize,
    /// Key popularity: uniform, or zipf[:EXPONENT] (default exponent 0.99).
    #[arg(
        long,
        default_value = "uniform",
        value_name = "DIST",
        help_heading = "Workloads"
    )]
    pub key_dist: String,
    /// Seed for the random keys (runs with the same seed send the same keys).
    #[arg(long, default_value_t = 0x5eed, help_heading = "Workloads")]
    pub seed: u64,

    /// A server to compare, as NAME=HOST:PORT or NAME=unix:/path; repeat it.
    /// Tests are interleaved over the targets so noise hits all alike.
    #[arg(
        long = "target",
        value_name = "NAME=ADDR",
        help_heading = "Comparing and reporting"
    )]
    pub targets: Vec<String>,
    /// Write report.json, report.md and report.html into this directory.
    #[arg(long, value_name = "DIR", help_heading = "Comparing and reporting")]
    pub report: Option<PathBuf>,
    /// Write an HdrHistogram interval log (one tagged histogram per interval).
    #[arg(long, value_name = "FILE", help_heading = "Comparing and reporting")]
    pub hdr_log: Option<PathBuf>,
    /// Width of the time-series intervals, ms.
    #[arg(
        long,
        default_value_t = 1000,
        value_name = "MS",
        help_heading = "Comparing and reporting"
    )]
    pub interval_ms: u64,
    /// Give up when the server sends nothing for this long, seconds.
    #[arg(
        long,
        default_value_t = 60,
        value_name = "SECS",
        help_heading = "Comparing and reporting"
    )]
    pub stall_timeout: u64,

    /// A command to benchmark instead of the tests (with __rand_int__ / __rand_key__).
    #[arg(trailing_var_arg = true, value_name = "COMMAND ARGS")]
    pub command: Vec<String>,
}

/// `--preset`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Session store: HSET 5 fields + PEXPIRE on write, HGETALL on read.
    Session,
    /// Rate limiter: INCR + PEXPIRE NX, or EVALSHA.
    Ratelimit,
    /// Transaction: MULTI, 3 SET, EXEC sent together; EXEC must return 3 replies.
    Tx,
    /// PUBLISH to one channel read by --subscribers connections.
    Publish,
}

/// `--ratelimit-mode`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RateLimitArg {
    /// INCR + PEXPIRE NX, pipelined.
    Incr,
    /// EVALSHA of a Lua script.
    Script,
}

/// `--tx-keys`
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TxKeysArg {
    /// One hash tag: one slot, one shard.
    OneShard,
    /// Three consecutive slots: as many shards as there are, up to 3.
    CrossShard,
}

/// Most subscribers `--subscribers` accepts (each is a connection).
pub const MAX_SUBSCRIBERS: usize = 10_000;

/// One server of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Name in the output and reports.
    pub name: String,
    /// Where it listens.
    pub endpoint: Endpoint,
}

/// What the run uses as tests.
#[derive(Clone, Debug, PartialEq)]
pub enum TestChoice {
    /// The standard tests selected by -t (all when empty).
    Standard(Vec<String>),
    /// A command line.
    Custom(Vec<String>),
    /// `--preset session`
    Session,
    /// `--preset ratelimit`
    RateLimit(RateLimitMode),
    /// `--preset tx`
    Tx(TxKeys),
    /// `--preset publish`
    Publish {
        /// `--subscribers`
        subscribers: usize,
    },
}

/// How each test is paced.
#[derive(Clone, Debug, PartialEq)]
pub enum Pacing {
    /// redis-benchmark's model.
    Closed,
    /// One rate.
    Open(f64),
    /// Several rates, ascending.
    Sweep(Vec<f64>),
}

/// Validated settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Servers.
    pub targets: Vec<Target>,
    /// Target names given explicitly (print them).
    pub named_targets: bool,
    /// AUTH/SELECT.
    pub handshake: Handshake,
    /// -c
    pub clients: usize,
    /// -n
    pub requests: u64,
    /// -d
    pub datasize: usize,
    /// --threads
    pub threads: usize,
    /// --cluster
    pub cluster: bool,
    /// -k
    pub keepalive: bool,
    /// -r, or the presets' default keyspace.
    pub keyspace: Option<u64>,
    /// --key-dist
    pub key_dist: KeyDist,
    /// -P
    pub pipeline: u32,
    /// -q
    pub quiet: bool,
    /// Latency decimals.
    pub precision: usize,
    /// --csv
    pub csv: bool,
    /// -l
    pub forever: bool,
    /// Tests.
    pub tests: TestChoice,
    /// Pacing.
    pub pacing: Pacing,
    /// --duration
    pub duration: Option<Duration>,
    /// --max-inflight
    pub max_inflight: u32,
    /// --read-ratio
    pub read_ratio: f64,
    /// --ttl-ms
    pub ttl_ms: u64,
    /// --window-ms
    pub window_ms: u64,
    /// --seed
    pub seed: u64,
    /// --report
    pub report: Option<std::path::PathBuf>,
    /// --hdr-log
    pub hdr_log: Option<std::path::PathBuf>,
    /// --interval-ms
    pub interval: Duration,
    /// --stall-timeout
    pub stall_timeout: Duration,
}

/// Keyspace used by presets when -r is not given.
pub const PRESET_KEYSPACE: u64 = 100_000;

fn parse_dist(s: &str) -> Result<KeyDist, String> {
    match s {
        "uniform" => Ok(KeyDist::Uniform),
        "zipf" | "zipfian" => Ok(KeyDist::Zipf(0.99)),
        other => match other.strip_prefix("zipf:") {
            Some(e) => match e.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(KeyDist::Zipf(x)),
                _ => Err(format!(
                    "--key-dist zipf exponent must be a positive number, not '{e}'"
                )),
            },
            None => Err(format!(
                "--key-dist must be uniform or zipf[:EXPONENT], not '{other}'"
            )),
        },
    }
}

fn positive_rate(r: f64, flag: &str) -> Result<f64, String> {
    if r.is_finite() && r > 0.0 {
        Ok(r)
    } else {
        Err(format!("{flag} needs positive request rates, not {r}"))
    }
}

impl Args {
    /// Check the flags and build the run's settings.
    pub fn validate(self) -> Result<Config, String> {
        if self.clients == 0 {
            return Err("-c must be at least 1".into());
        }
        if self.pipeline == 0 {
            return Err("-P must be at least 1".into());
        }
        if self.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        if self.requests == 0 && self.duration.is_none() {
            return Err("-n must be at least 1".into());
        }
        if self.user.is_some() && self.password.is_none() {
            return Err("--user needs -a <password>".into());
        }
        if self.keyspace == Some(0) {
            return Err("-r must be at least 1".into());
        }
        if self.interval_ms == 0 {
            return Err("--interval-ms must be at least 1".into());
        }
        if self.max_inflight == 0 {
            return Err("--max-inflight must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.read_ratio) {
            return Err(format!(
                "--read-ratio must be between 0 and 1, not {}",
                self.read_ratio
            ));
        }
        let duration = match self.duration {
            None => None,
            Some(d) if d.is_finite() && d > 0.0 && d < 1e7 => Some(Duration::from_secs_f64(d)),
            Some(d) => {
                return Err(format!(
                    "--duration must be a positive number of seconds, not {d}"
                ))
            }
        };
        let pacing = match (self.rate, self.sweep.is_empty()) {
            (Some(_), false) => return Err("use either --rate or --sweep, not both".into()),
            (Some(r), true) => Pacing::Open(positive_rate(r, "--rate")?),
            (None, false) => {
                let mut rates = Vec::new();
                for &r in &self.sweep {
                    rates.push(positive_rate(r, "--sweep")?);
                }
                rates.sort_by(f64::total_cmp);
                rates.dedup();
                Pacing::Sweep(rates)
            }
            (None, true) => Pacing::Closed,
        };
        if pacing != Pacing::Closed && self.pipeline > 1 {
            return Err("-P applies to the closed loop; open-loop runs (--rate, --sweep) pipeline on their own".into());
        }
        if pacing != Pacing::Closed && !self.keepalive_bool() {
            return Err("-k 0 is only supported in the closed loop".into());
        }
        let tests = match (self.preset, self.command.is_empty()) {
            (Some(_), false) => return Err("use either --preset or a command, not both".into()),
            (Some(_), true) if !self.tests.is_empty() => {
                return Err("use either --preset or -t, not both".into())
            }
            (Some(Preset::Session), true) => TestChoice::Session,
            (Some(Preset::Ratelimit), true) => TestChoice::RateLimit(match self.ratelimit_mode {
                RateLimitArg::Incr => RateLimitMode::IncrExpire,
                RateLimitArg::Script => RateLimitMode::Script,
            }),
            (Some(Preset::Tx), true) => TestChoice::Tx(match self.tx_keys {
                TxKeysArg::OneShard => TxKeys::OneShard,
                TxKeysArg::CrossShard => TxKeys::CrossShard,
            }),
            (Some(Preset::Publish), true) => TestChoice::Publish {
                subscribers: self.subscribers,
            },
            (None, false) => TestChoice::Custom(self.command.clone()),
            (None, true) => {
                let list: Vec<String> = self
                    .tests
                    .iter()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect();
                check_test_names(&list)?;
                TestChoice::Standard(list)
            }
        };
        if self.cluster && matches!(tests, TestChoice::Tx(_) | TestChoice::Publish { .. }) {
            return Err(
                "--preset tx and --preset publish do not route by slot: run them against one node, without --cluster"
                    .into(),
            );
        }
        if self.subscribers > MAX_SUBSCRIBERS {
            return Err(format!(
                "--subscribers must be at most {MAX_SUBSCRIBERS}, not {}",
                self.subscribers
            ));
        }
        let keyspace = match (&tests, self.keyspace) {
            (TestChoice::Session | TestChoice::RateLimit(_) | TestChoice::Tx(_), None) => {
                Some(PRESET_KEYSPACE)
            }
            (_, k) => k,
        };
        let targets = if self.targets.is_empty() {
            let endpoint = match &self.socket {
                Some(p) => Endpoint::Unix(p.clone()),
                None => Endpoint::Tcp(format!("{}:{}", self.host, self.port)),
            };
            vec![Target {
                name: endpoint.to_string(),
                endpoint,
            }]
        } else {
            let mut v: Vec<Target> = Vec::new();
            for t in &self.targets {
                let (name, addr) = t
                    .split_once('=')
                    .ok_or_else(|| format!("--target '{t}' must be NAME=HOST:PORT"))?;
                if name.is_empty() || v.iter().any(|x| x.name == name) {
                    return Err(format!(
                        "--target names must be unique and non-empty ('{t}')"
                    ));
                }
                v.push(Target {
                    name: name.to_string(),
                    endpoint: Endpoint::parse(addr)?,
                });
            }
            v
        };
        Ok(Config {
            named_targets: !self.targets.is_empty(),
            targets,
            handshake: Handshake {
                user: self.user.clone(),
                password: self.password.clone(),
                db: self.dbnum,
            },
            clients: self.clients,
            requests: self.requests,
            datasize: self.datasize,
            threads: self.threads,
            cluster: self.cluster,
            keepalive: self.keepalive_bool(),
            keyspace,
            key_dist: parse_dist(&self.key_dist)?,
            pipeline: self.pipeline,
            quiet: self.quiet,
            precision: self.precision.unwrap_or(3).min(9),
            csv: self.csv,
            forever: self.forever,
            tests,
            pacing,
            duration,
            max_inflight: self.max_inflight,
            read_ratio: self.read_ratio,
            ttl_ms: self.ttl_ms,
            window_ms: self.window_ms,
            seed: self.seed,
            report: self.report,
            hdr_log: self.hdr_log,
            interval: Duration::from_millis(self.interval_ms),
            stall_timeout: Duration::from_secs(self.stall_timeout.max(1)),
        })
    }

    fn keepalive_bool(&self) -> bool {
        self.keepalive == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Config, String> {
        let argv = std::iter::once("shoal-benchmark").chain(line.split_whitespace());
        Args::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .validate()
    }

    #[test]
    fn redis_benchmark_flags() {
        let c = parse(
            "-h 10.0.0.1 -p 7000 -c 10 -n 500 -d 16 -P 8 -r 1000 -t set,GET -q --csv --dbnum 2",
        )
        .unwrap();
        assert_eq!(c.targets[0].endpoint, Endpoint::Tcp("10.0.0.1:7000".into()));
        assert_eq!(
            (c.clients, c.requests, c.datasize, c.pipeline),
            (10, 500, 16, 8)
        );
        assert_eq!(c.keyspace, Some(1000));
        assert_eq!(
            c.tests,
            TestChoice::Standard(vec!["set".into(), "get".into()])
        );
        assert!(c.quiet && c.csv);
        assert_eq!(c.handshake.db, Some(2));
        assert_eq!(c.pacing, Pacing::Closed);
    }

    #[test]
    fn command_line_command_and_socket() {
        let c = parse("-s /tmp/x.sock -n 10 lpush mylist __rand_int__").unwrap();
        assert_eq!(c.targets[0].endpoint, Endpoint::Unix("/tmp/x.sock".into()));
        assert_eq!(
            c.tests,
            TestChoice::Custom(vec!["lpush".into(), "mylist".into(), "__rand_int__".into()])
        );
    }

    #[test]
    fn open_loop_and_sweep() {
        let c = parse("--rate 5000 --duration 2").unwrap();
        assert_eq!(c.pacing, Pacing::Open(5000.0));
        assert_eq!(c.duration, Some(Duration::from_secs(2)));
        let c = parse("--sweep 3000,1000,2000").unwrap();
        assert_eq!(c.pacing, Pacing::Sweep(vec![1000.0, 2000.0, 3000.0]));
        assert!(parse("--rate 0").is_err());
        assert!(parse("--rate 10 --sweep 1,2").is_err());
        assert!(parse("--rate 10 -P 4").is_err());
    }

    #[test]
    fn targets_and_presets() {
        let c =
            parse("--target shoal=127.0.0.1:7000 --target redis=127.0.0.1:7001 --preset session")
                .unwrap();
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets[1].name, "redis");
        assert_eq!(c.tests, TestChoice::Session);
        assert_eq!(c.keyspace, Some(PRESET_KEYSPACE));
        assert!(parse("--target a=h:1 --target a=h:2").is_err());
        assert!(parse("--target nohost").is_err());
        let c = parse("--preset ratelimit --ratelimit-mode script --key-dist zipf:1.2").unwrap();
        assert_eq!(c.tests, TestChoice::RateLimit(RateLimitMode::Script));
        assert_eq!(c.key_dist, KeyDist::Zipf(1.2));
    }

    #[test]
    fn tx_and_publish_presets() {
        let c = parse("--preset tx").unwrap();
        assert_eq!(c.tests, TestChoice::Tx(TxKeys::OneShard));
        assert_eq!(c.keyspace, Some(PRESET_KEYSPACE));
        let c = parse("--preset tx --tx-keys cross-shard -r 10").unwrap();
        assert_eq!(c.tests, TestChoice::Tx(TxKeys::CrossShard));
        assert_eq!(c.keyspace, Some(10));
        let c = parse("--preset publish").unwrap();
        assert_eq!(c.tests, TestChoice::Publish { subscribers: 10 });
        assert_eq!(c.keyspace, None);
        let c = parse("--preset publish --subscribers 0").unwrap();
        assert_eq!(c.tests, TestChoice::Publish { subscribers: 0 });
        for bad in [
            "--preset tx --tx-keys two-shards",
            "--preset tx --cluster",
            "--preset publish --cluster",
            "--preset publish --subscribers 100000",
            "--preset publish --subscribers -1",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bad_input_is_a_sentence() {
        assert!(parse("--preset session -t set").is_err());
        for bad in [
            "-c 0",
            "-P 0",
            "-t nosuchtest",
            "--user bob",
            "-r 0",
            "--key-dist pareto",
            "--read-ratio 2",
            "-p notaport",
            "-k 2",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        assert!(parse("--help").unwrap_err().contains("Usage"));
        // An unknown flag is an error, not a command to send (and no connection to 6379).
        assert!(parse("--no-such-flag").is_err());
        // Once the command starts, later arguments may look like flags.
        let c = parse("-n 5 set k -1").unwrap();
        assert_eq!(
            c.tests,
            TestChoice::Custom(vec!["set".into(), "k".into(), "-1".into()])
        );
    }
}
