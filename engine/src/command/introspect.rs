//! COMMAND and its subcommands, all read from the command table: COMMAND,
//! COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP.
//!
//! Reply shape of one command (Redis 7): `[name, arity, flags, first, last,
//! step, acl-categories, tips, key-specs, subcommands]`, flags and
//! categories as sets of status strings, key specs as maps.

use super::ctx::Ctx;
use super::errors::{CmdError, CmdResult};
use super::spec::{acl, flags, BeginSearch, CmdId, CommandSpec, FindKeys, KeySpecDef};
use super::table::{table, TableEntry};
use resp::{ReplyWriter, Request};

/// Key-spec flags: the access kind in capitals (`RO`, `RW`, `OW`, `RM`),
/// the others in lower case, as Redis prints them.
fn write_key_flag(w: &mut ReplyWriter<'_>, f: &str) {
    if matches!(f, "RO" | "RW" | "OW" | "RM") {
        w.simple(f.as_bytes());
    } else {
        w.simple(f.to_ascii_lowercase().as_bytes());
    }
}

fn write_key_spec(w: &mut ReplyWriter<'_>, k: &super::spec::KeySpecDef) {
    w.map(3);
    w.bulk(b"flags");
    w.set(k.flags.len());
    for f in k.flags {
        write_key_flag(w, f);
    }
    w.bulk(b"begin_search");
    w.map(2);
    w.bulk(b"type");
    match k.begin {
        BeginSearch::Index(i) => {
            w.bulk(b"index");
            w.bulk(b"spec");
            w.map(1);
            w.bulk(b"index");
            w.int(i64::from(i));
        }
        BeginSearch::Keyword(kw, from) => {
            w.bulk(b"keyword");
            w.bulk(b"spec");
            w.map(2);
            w.bulk(b"keyword");
            w.bulk(kw.as_bytes());
            w.bulk(b"startfrom");
            w.int(i64::from(from));
        }
    }
    w.bulk(b"find_keys");
    w.map(2);
    w.bulk(b"type");
    match k.find {
        FindKeys::Range(last, step, limit) => {
            w.bulk(b"range");
            w.bulk(b"spec");
            w.map(3);
            w.bulk(b"lastkey");
            w.int(i64::from(last));
            w.bulk(b"keystep");
            w.int(i64::from(step));
            w.bulk(b"limit");
            w.int(i64::from(limit));
        }
        FindKeys::Keynum(idx, first, step) => {
            w.bulk(b"keynum");
            w.bulk(b"spec");
            w.map(3);
            w.bulk(b"keynumidx");
            w.int(i64::from(idx));
            w.bulk(b"firstkey");
            w.int(i64::from(first));
            w.bulk(b"keystep");
            w.int(i64::from(step));
        }
    }
}

fn write_info(w: &mut ReplyWriter<'_>, id: CmdId, e: &TableEntry) {
    let s: &CommandSpec = e.spec;
    w.array(10);
    w.bulk(e.fullname.as_bytes());
    w.int(i64::from(s.arity));
    let fl: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(b, _)| s.flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    w.set(fl.len());
    for f in fl {
        w.simple(f.as_bytes());
    }
    w.int(i64::from(s.first_key));
    w.int(i64::from(s.last_key));
    w.int(i64::from(s.key_step));
    let cats = s.acl_with_implied();
    let names: Vec<&str> = acl::NAMES
        .iter()
        .filter(|(b, _)| cats & b != 0)
        .map(|(_, n)| *n)
        .collect();
    w.set(names.len());
    for n in names {
        w.simple(format!("@{n}").as_bytes());
    }
    w.set(s.tips.len());
    for t in s.tips {
        w.bulk(t.as_bytes());
    }
    w.set(s.key_specs.len());
    for k in s.key_specs {
        write_key_spec(w, k);
    }
    let subs: Vec<(CmdId, &TableEntry)> = table().subcommands(id).collect();
    // Redis: an empty set without subcommands, an array with them.
    if subs.is_empty() {
        w.set(0);
    } else {
        w.array(subs.len());
    }
    for (sid, se) in subs {
        write_info(w, sid, se);
    }
}

/// Resolve `name` or `container|sub`.
fn resolve(name: &[u8]) -> Option<CmdId> {
    let t = table();
    match memchr::memchr(b'|', name) {
        None => t.lookup(name),
        Some(bar) => {
            let parent = t.lookup(name.get(..bar)?)?;
            t.lookup_sub(parent, name.get(bar + 1..)?)
        }
    }
}

fn command(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let all: Vec<(CmdId, &TableEntry)> = table().top_level().collect();
    let mut w = ctx.w();
    w.array(all.len());
    for (id, e) in all {
        write_info(&mut w, id, e);
    }
    Ok(())
}

fn count(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let n = table().top_level().count();
    ctx.w().int(i64::try_from(n).unwrap_or(0));
    Ok(())
}

fn info(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if req.len() == 2 {
        return command(ctx, req);
    }
    let mut w = ctx.w();
    w.array(req.len() - 2);
    for name in req.iter().skip(2) {
        match resolve(name) {
            Some(id) => write_info(&mut w, id, table().get(id)),
            None => w.null(),
        }
    }
    Ok(())
}

fn write_docs(w: &mut ReplyWriter<'_>, id: CmdId, e: &TableEntry) {
    let subs: Vec<(CmdId, &TableEntry)> = table().subcommands(id).collect();
    w.map(if subs.is_empty() { 3 } else { 4 });
    w.bulk(b"summary");
    w.bulk(e.spec.summary.as_bytes());
    w.bulk(b"since");
    w.bulk(e.spec.since.as_bytes());
    w.bulk(b"group");
    w.bulk(e.spec.group.as_bytes());
    if !subs.is_empty() {
        w.bulk(b"subcommands");
        w.map(subs.len());
        for (sid, se) in subs {
            w.bulk(se.fullname.as_bytes());
            write_docs(w, sid, se);
        }
    }
}

fn docs(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ids: Vec<CmdId> = if req.len() == 2 {
        table().top_level().map(|(id, _)| id).collect()
    } else {
        req.iter().skip(2).filter_map(resolve).collect()
    };
    let mut w = ctx.w();
    w.map(ids.len());
    for id in ids {
        let e = table().get(id);
        w.bulk(e.fullname.as_bytes());
        write_docs(&mut w, id, e);
    }
    Ok(())
}

fn list(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    enum Filter {
        None,
        Module,
        AclCat(String),
        Pattern(Vec<u8>),
    }
    let filter = match req.len() {
        2 => Filter::None,
        5 if super::args::is(req.arg(2), "FILTERBY") => {
            let kind = req.arg(3);
            if super::args::is(kind, "MODULE") {
                Filter::Module
            } else if super::args::is(kind, "ACLCAT") {
                Filter::AclCat(String::from_utf8_lossy(req.arg(4)).to_ascii_lowercase())
            } else if super::args::is(kind, "PATTERN") {
                Filter::Pattern(req.arg(4).to_vec())
            } else {
                return Err(super::errors::SYNTAX);
            }
        }
        _ => return Err(super::errors::SYNTAX),
    };
    let names: Vec<&str> = table()
        .all()
        .filter(|(_, e)| match &filter {
            Filter::None => true,
            Filter::Module => false,
            Filter::AclCat(cat) => {
                let cats = e.spec.acl_with_implied();
                acl::NAMES
                    .iter()
                    .any(|(b, n)| cats & b != 0 && *n == cat.as_str())
            }
            Filter::Pattern(p) => crate::glob::matches_nocase(p, e.fullname.as_bytes()),
        })
        .map(|(_, e)| e.fullname.as_str())
        .collect();
    let mut w = ctx.w();
    w.array(names.len());
    for n in names {
        w.bulk(n.as_bytes());
    }
    Ok(())
}

/// Key positions of a command line (argv includes the command name).
pub(crate) fn key_positions(id: CmdId, argv: &[&[u8]]) -> CmdResult<Vec<usize>> {
    let s = table().get(id).spec;
    let argc = i64::try_from(argv.len()).unwrap_or(i64::MAX);
    let arity = i64::from(s.arity);
    if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
        return Err(CmdError::fixed(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    if let Some(KeySpecDef {
        begin: BeginSearch::Index(idx),
        find: FindKeys::Keynum(numidx, firstkey, step),
        ..
    }) = s.key_specs.first().filter(|_| s.first_key == 0)
    {
        let at = |i: i32| usize::try_from(i).unwrap_or(usize::MAX);
        let n = argv
            .get(at(idx + numidx))
            .and_then(|a| resp::numfmt::parse_i64(a))
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n > 0 && at(idx + firstkey) + n <= argv.len())
            .ok_or(CmdError::fixed(
                "ERR Invalid arguments specified for command",
            ))?;
        let first = at(idx + firstkey);
        return Ok((0..n).map(|k| first + k * at((*step).max(1))).collect());
    }
    if s.first_key <= 0 {
        return Err(CmdError::fixed("ERR The command has no key arguments"));
    }
    let first = i64::from(s.first_key);
    let last = if s.last_key < 0 {
        argc + i64::from(s.last_key)
    } else {
        i64::from(s.last_key)
    };
    let step = i64::from(s.key_step.max(1));
    let mut out = Vec::new();
    let mut i = first;
    while i <= last && i < argc {
        out.push(usize::try_from(i).unwrap_or(0));
        i += step;
    }
    Ok(out)
}

fn resolve_argv(argv: &[&[u8]]) -> CmdResult<CmdId> {
    let name = argv.first().copied().unwrap_or(&[]);
    let t = table();
    let id = t
        .lookup(name)
        .ok_or(CmdError::fixed("ERR Invalid command specified"))?;
    if t.get(id).spec.handler.is_none() {
        let sub = argv.get(1).copied().ok_or(CmdError::fixed(
            "ERR Invalid number of arguments specified for command",
        ))?;
        return t
            .lookup_sub(id, sub)
            .ok_or(CmdError::fixed("ERR Invalid command specified"));
    }
    Ok(id)
}

fn getkeys(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let argv: Vec<&[u8]> = req.iter().skip(2).collect();
    let id = resolve_argv(&argv)?;
    let pos = key_positions(id, &argv)?;
    let mut w = ctx.w();
    w.array(pos.len());
    for p in pos {
        w.bulk(argv.get(p).copied().unwrap_or(&[]));
    }
    Ok(())
}

/// Key flags of commands whose flags depend on their arguments.
fn variable_flags(name: &str, argv: &[&[u8]]) -> &'static [&'static str] {
    match name {
        // SET ... GET reads the old value; a plain SET only overwrites.
        "set" if argv.iter().skip(3).any(|a| super::args::is(a, "GET")) => {
            &["RW", "ACCESS", "UPDATE"]
        }
        "set" => &["OW", "UPDATE"],
        _ => &[],
    }
}

fn getkeysandflags(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let argv: Vec<&[u8]> = req.iter().skip(2).collect();
    let id = resolve_argv(&argv)?;
    let pos = key_positions(id, &argv)?;
    let spec = table().get(id).spec;
    let mut w = ctx.w();
    w.array(pos.len());
    for (n, p) in pos.iter().enumerate() {
        let flags: &[&str] = spec
            .key_specs
            .get(n.min(spec.key_specs.len().saturating_sub(1)))
            .map(|k| k.flags)
            .unwrap_or(&[]);
        let flags = if flags.contains(&"VARIABLE_FLAGS") {
            variable_flags(spec.name, &argv)
        } else {
            flags
        };
        w.array(2);
        w.bulk(argv.get(*p).copied().unwrap_or(&[]));
        w.set(flags.len());
        for f in flags {
            write_key_flag(&mut w, f);
        }
    }
    Ok(())
}

fn help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "COMMAND",
        &[
            ("(no subcommand)", "details of every command"),
            ("COUNT", "how many commands there are"),
            (
                "LIST [FILTERBY MODULE <m>|ACLCAT <cat>|PATTERN <glob>]",
                "command names",
            ),
            (
                "INFO [<command> ...]",
                "details of the given commands (all when none given)",
            ),
            (
                "DOCS [<command> ...]",
                "documentation of the given commands (all when none given)",
            ),
            ("GETKEYS <command line>", "the keys a command line touches"),
            (
                "GETKEYSANDFLAGS <command line>",
                "the keys a command line touches, with their access flags",
            ),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

use super::spec::flags::*;

const SUBS: &[CommandSpec] = &[
    CommandSpec::new("count", 2, count)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .doc("server", "2.8.13", "Returns the number of commands."),
    CommandSpec::new("docs", -2, docs)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .tips(&["nondeterministic_output_order"])
        .doc("server", "7.0.0", "Returns documentation about commands."),
    CommandSpec::new("getkeys", -4, getkeys)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .doc(
            "server",
            "2.8.13",
            "Extracts the key names from a command line.",
        ),
    CommandSpec::new("getkeysandflags", -4, getkeysandflags)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .doc(
            "server",
            "7.0.0",
            "Extracts the key names and their access flags from a command line.",
        ),
    CommandSpec::new("help", 2, help)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .doc("server", "5.0.0", "Lists the COMMAND subcommands."),
    CommandSpec::new("info", -2, info)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .tips(&["nondeterministic_output_order"])
        .doc("server", "2.8.13", "Returns details about commands."),
    CommandSpec::new("list", -2, list)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .tips(&["nondeterministic_output_order"])
        .doc("server", "7.0.0", "Returns the names of the commands."),
];

pub const COMMANDS: &[CommandSpec] = &[CommandSpec {
    handler: Some(command),
    subcommands: SUBS,
    ..CommandSpec::new("command", -1, command)
        .flags(LOADING | STALE)
        .acl(acl::CONNECTION)
        .tips(&["nondeterministic_output_order"])
        .doc("server", "2.8.13", "Returns details about all commands.")
}];
