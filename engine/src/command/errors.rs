//! Every error text Shoal puts on the wire, in one place, worded exactly as
//! Redis 7 words them (clients match on these strings: see
//! ../shared/research/ecosystem.md §0).

use std::borrow::Cow;

/// An error reply. The text includes the code (`ERR`, `WRONGTYPE`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl CmdError {
    /// An error with a fixed text.
    pub const fn fixed(s: &'static str) -> Self {
        CmdError(Cow::Borrowed(s))
    }

    /// An error with a computed text.
    pub fn owned(s: String) -> Self {
        CmdError(Cow::Owned(s))
    }

    /// The text as it goes after `-`.
    pub fn text(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Result of parsing or running a command.
pub type CmdResult<T = ()> = Result<T, CmdError>;

pub const SYNTAX: CmdError = CmdError::fixed("ERR syntax error");
pub const WRONGTYPE: CmdError =
    CmdError::fixed("WRONGTYPE Operation against a key holding the wrong kind of value");
pub const NOT_INTEGER: CmdError = CmdError::fixed("ERR value is not an integer or out of range");
pub const NOT_FLOAT: CmdError = CmdError::fixed("ERR value is not a valid float");
pub const OVERFLOW: CmdError = CmdError::fixed("ERR increment or decrement would overflow");
pub const INCR_NAN_INF: CmdError = CmdError::fixed("ERR increment would produce NaN or Infinity");
pub const NO_SUCH_KEY: CmdError = CmdError::fixed("ERR no such key");
pub const DB_INDEX: CmdError = CmdError::fixed("ERR DB index is out of range");
pub const INVALID_CURSOR: CmdError = CmdError::fixed("ERR invalid cursor");
pub const NOAUTH: CmdError = CmdError::fixed("NOAUTH Authentication required.");
pub const WRONGPASS: CmdError =
    CmdError::fixed("WRONGPASS invalid username-password pair or user is disabled.");
pub const AUTH_NOT_CONFIGURED: CmdError = CmdError::fixed(
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
);
pub const STRING_TOO_LONG: CmdError =
    CmdError::fixed("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
pub const OFFSET_OUT_OF_RANGE: CmdError = CmdError::fixed("ERR offset is out of range");
pub const SAME_OBJECT: CmdError =
    CmdError::fixed("ERR source and destination objects are the same");
pub const TIMEOUT_NOT_FLOAT: CmdError =
    CmdError::fixed("ERR timeout is not a float or out of range");
pub const BUSYKEY: CmdError = CmdError::fixed("BUSYKEY Target key name already exists.");
pub const BAD_DUMP: CmdError = CmdError::fixed("ERR DUMP payload version or checksum are wrong");
pub const BAD_TTL: CmdError = CmdError::fixed("ERR Invalid TTL value, must be >= 0");
pub const DEBUG_DISABLED: CmdError = CmdError::fixed(
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
);
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const NOPROTO: CmdError = CmdError::fixed("NOPROTO unsupported protocol version");
/// SAVE failed (the reason is in the log): Redis replies a bare `-ERR`.
pub const SAVE_FAILED: CmdError = CmdError::fixed("ERR");
/// Writes refused after a failed save (`stop-writes-on-bgsave-error`).
pub const BGSAVE_ERR: CmdError = CmdError::fixed(
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. \
     Commands that may modify the data set are disabled, because this instance is configured to report \
     errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). \
     Please check the Redis logs for details about the RDB error.",
);
/// SHUTDOWN could not save and was not FORCEd.
pub const SHUTDOWN_FAILED: CmdError = CmdError::fixed("ERR Errors trying to SHUTDOWN. Check logs.");

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' `
pub fn unknown_command(name: &[u8], args: &[&[u8]]) -> CmdError {
    let mut list = String::new();
    for a in args {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        let a = String::from_utf8_lossy(a);
        let a: String = truncate_bytes(&a, room);
        list.push('\'');
        list.push_str(&a);
        list.push_str("' ");
    }
    let name = truncate_bytes(&String::from_utf8_lossy(name), 128);
    CmdError::owned(format!(
        "ERR unknown command '{name}', with args beginning with: {list}"
    ))
}

/// `ERR unknown subcommand 'x'. Try CMD HELP.`
pub fn unknown_subcommand(sub: &[u8], container: &str) -> CmdError {
    let sub = truncate_bytes(&String::from_utf8_lossy(sub), 128);
    CmdError::owned(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        container.to_ascii_uppercase()
    ))
}

/// `ERR unknown subcommand or wrong number of arguments for 'X'. Try CMD HELP.`
/// (Redis's `addReplySubcommandSyntaxError`; `sub` as the client typed it).
pub fn subcommand_syntax(sub: &[u8], container: &str) -> CmdError {
    CmdError::owned(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        container.to_ascii_uppercase()
    ))
}

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(fullname: &str) -> CmdError {
    CmdError::owned(format!(
        "ERR wrong number of arguments for '{fullname}' command"
    ))
}

/// `ERR invalid expire time in 'set' command`
pub fn invalid_expire(cmd: &str) -> CmdError {
    CmdError::owned(format!("ERR invalid expire time in '{cmd}' command"))
}

fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

// ---- scripting (EVAL, SCRIPT, FUNCTION) ----

pub const NOSCRIPT: CmdError = CmdError::fixed("NOSCRIPT No matching script. Please use EVAL.");
pub const NUMKEYS_TOO_MANY: CmdError =
    CmdError::fixed("ERR Number of keys can't be greater than number of args");
pub const NUMKEYS_NEGATIVE: CmdError = CmdError::fixed("ERR Number of keys can't be negative");
pub const NOTBUSY: CmdError = CmdError::fixed("NOTBUSY No scripts in execution right now.");
pub const UNKILLABLE: CmdError = CmdError::fixed(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
);
/// Another client's EVAL is past `busy-reply-threshold`.
pub const BUSY_EVAL: CmdError = CmdError::fixed(
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
);
/// Another client's FCALL is past `busy-reply-threshold`.
pub const BUSY_FUNCTION: CmdError = CmdError::fixed(
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
);
/// EVAL_RO / FCALL_RO of code that does not declare `no-writes`.
pub const RO_WRITE_FLAG: CmdError =
    CmdError::fixed("ERR Can not execute a script with write flag using *_ro command.");
pub const SCRIPT_FLUSH_MODE: CmdError =
    CmdError::fixed("ERR SCRIPT FLUSH only support SYNC|ASYNC option");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_text() {
        assert_eq!(
            unknown_command(b"FOOBAR", &[b"a", b"b"]).text(),
            "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            unknown_command(b"x", &[]).text(),
            "ERR unknown command 'x', with args beginning with: "
        );
        assert_eq!(
            unknown_subcommand(b"FOO", "client").text(),
            "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
        );
    }
}
