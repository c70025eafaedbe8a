//! keepalived's parameter language (keepalived.conf(5), "Parameter substitution", "Sequence
//! blocks"; lib/parser.c), sans I/O: `$NAME=VALUE` definitions, single- or multi-line; their
//! use as `$NAME` (followed by whitespace) or `${NAME}`, replaced recursively at the time of
//! use; the pre-defined `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [MIN [MAX]]}`, `${_HASH}`,
//! `${_BANG}`; and the `~SEQ(...)`, `~SEQx(...)` and `~LST(...)` line repeaters.

use std::collections::HashMap;

/// More replacements than this in one line means a definition that uses itself.
const MAX_REPLACEMENTS: usize = 1000;

/// A `$NAME=VALUE` line.
#[derive(Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub value: String,
    /// The value ends with `\`: the definition goes on on the next lines (their text, up to
    /// and including the first line without a final `\`).
    pub continues: bool,
}

/// Reads `$NAME=VALUE` (after any `@id` condition was applied), or `None` for any other line.
pub fn definition(line: &str) -> Option<Definition> {
    let rest = line.trim_start().strip_prefix('$')?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    if !is_name(name) {
        return None;
    }
    let (value, continues) = continued(value.trim());
    Some(Definition {
        name: name.to_string(),
        value: value.to_string(),
        continues,
    })
}

/// A continuation line's text without its final `\`, and whether another line follows.
pub fn continued(line: &str) -> (&str, bool) {
    match line.trim_end().strip_suffix('\\') {
        Some(text) => (text.trim_end(), true),
        None => (line.trim_end(), false),
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The definitions seen so far, and what the pre-defined ones need.
#[derive(Debug)]
pub struct Definitions {
    values: HashMap<String, String>,
    /// `${_INSTANCE}`: keepalived's `-i` config id, else the host name.
    instance: String,
}

/// A line after substitution.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    /// Names used but not defined (left as written, as keepalived leaves them), each with its
    /// 1-based column (in the line as far as it was replaced).
    pub undefined: Vec<(String, usize)>,
    /// A definition used itself: replacement stopped after [`MAX_REPLACEMENTS`].
    pub runaway: bool,
}

impl Definitions {
    /// None defined yet; `instance` is what `${_INSTANCE}` gives.
    pub fn new(instance: &str) -> Definitions {
        Definitions {
            values: HashMap::new(),
            instance: instance.to_string(),
        }
    }

    pub fn define(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }

    pub fn forget(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// Replaces every use in `line`; a replacement's own uses are replaced in turn (keepalived
    /// substitutes at the time of use, so a later definition changes an earlier one's meaning).
    /// `pwd` is `${_PWD}`: the folder of the file being read.
    pub fn substitute(&self, line: &str, pwd: &str) -> Substituted {
        let mut text: Vec<char> = line.chars().collect();
        let mut result = Substituted::default();
        let mut at = 0;
        let mut replacements = 0;
        while at < text.len() {
            if text[at] != '$' {
                at += 1;
                continue;
            }
            let Some((name, end)) = use_at(&text, at) else {
                at += 1;
                continue;
            };
            let value = match self.values.get(&name) {
                Some(value) => Some(value.clone()),
                None => predefined(&name, &self.instance, pwd),
            };
            let Some(value) = value else {
                if !result.undefined.iter().any(|(seen, _)| *seen == name) {
                    result.undefined.push((name, at + 1));
                }
                at = end;
                continue;
            };
            replacements += 1;
            if replacements > MAX_REPLACEMENTS {
                result.runaway = true;
                break;
            }
            // Re-scanned from `at`: the value's own uses are replaced next.
            text.splice(at..end, value.chars());
        }
        result.text = text.into_iter().collect();
        result
    }
}

/// The use starting at `text[at] == '$'`: `${NAME ...}` (a pre-defined one may take
/// arguments) or `$NAME` followed by whitespace or the end of the line; its name and the index
/// just past it.
fn use_at(text: &[char], at: usize) -> Option<(String, usize)> {
    if text.get(at + 1) == Some(&'{') {
        let close = text[at + 2..].iter().position(|&c| c == '}')? + at + 2;
        let inside: String = text[at + 2..close].iter().collect();
        let name = inside.trim();
        let first = name.split_whitespace().next().unwrap_or("");
        if !is_name(first) {
            return None;
        }
        return Some((name.to_string(), close + 1));
    }
    let end = text[at + 1..]
        .iter()
        .position(|c| c.is_whitespace())
        .map_or(text.len(), |p| p + at + 1);
    let name: String = text[at + 1..end].iter().collect();
    is_name(&name).then_some((name, end))
}

/// keepalived's pre-defined definitions.
fn predefined(name: &str, instance: &str, pwd: &str) -> Option<String> {
    let mut words = name.split_whitespace();
    match words.next()? {
        "_PWD" => Some(pwd.to_string()),
        "_INSTANCE" => Some(instance.to_string()),
        "_HASH" => Some("#".into()),
        "_BANG" => Some("!".into()),
        "_RANDOM" => {
            let min: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            let max: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(32767);
            let (low, high) = (min.min(max), min.max(max));
            Some((low + random_below(high - low + 1)).to_string())
        }
        _ => None,
    }
}

/// A random number in `0..bound` (`bound` > 0), from the kernel's random source.
fn random_below(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most bytes.len() bytes into the buffer it is given.
    unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    u64::from_ne_bytes(bytes) % bound
}

/// One `~SEQ` / `~SEQx` / `~LST` at the start of a line: the variables it sets and, for each
/// repetition, their values.
#[derive(Debug, PartialEq, Eq)]
pub struct Repeat {
    pub variables: Vec<String>,
    pub values: Vec<Vec<String>>,
}

/// Why a repeater cannot be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RepeatError {
    #[error("{0}: no closing ')'")]
    Unclosed(&'static str),
    #[error("~SEQ needs (var, [start, [step,]] end) with whole numbers, not '{0}'")]
    BadSequence(String),
    #[error("~LST needs (var, value, ...) or ({{var, ...}}, {{value, ...}}, ...), not '{0}'")]
    BadList(String),
}

/// Repetitions beyond this are refused (keepalived's own example makes 65024 instances).
const MAX_REPETITIONS: usize = 1 << 20;

/// Reads the repeater `line` starts with (after leading whitespace): the repeater and the rest
/// of the line, or `None` when it starts with none.
pub fn repeat(line: &str) -> Option<Result<(Repeat, &str), RepeatError>> {
    let trimmed = line.trim_start();
    let (kind, after) = if let Some(after) = trimmed.strip_prefix("~SEQx(") {
        ("~SEQx", after)
    } else if let Some(after) = trimmed.strip_prefix("~SEQ(") {
        ("~SEQ", after)
    } else if let Some(after) = trimmed.strip_prefix("~LST(") {
        ("~LST", after)
    } else {
        return None;
    };
    let Some(close) = closing_paren(after) else {
        return Some(Err(RepeatError::Unclosed(kind)));
    };
    let (inside, rest) = (&after[..close], &after[close + 1..]);
    let parsed = match kind {
        "~LST" => list(inside),
        _ => sequence(inside, kind == "~SEQx"),
    };
    Some(parsed.map(|repeat| (repeat, rest)))
}

/// The `)` that closes the repeater, skipping `{...}` groups.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ')' if depth == 0 => return Some(index),
            _ => {}
        }
    }
    None
}

fn parse_number(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let value = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if negative { -value } else { value })
}

/// `~SEQ(var, [start, [step,]] end)`: start defaults to 1 (or -1 when end < 0), step to 1 or -1
/// towards end; `hex` formats the values in hexadecimal.
fn sequence(inside: &str, hex: bool) -> Result<Repeat, RepeatError> {
    let bad = || RepeatError::BadSequence(inside.to_string());
    let parts: Vec<&str> = inside.split(',').map(str::trim).collect();
    let variable = parts
        .first()
        .copied()
        .filter(|v| is_name(v))
        .ok_or_else(bad)?;
    let numbers: Vec<i64> = parts[1..]
        .iter()
        .map(|p| parse_number(p))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let (start, step, end) = match numbers[..] {
        [end] => (if end < 0 { -1 } else { 1 }, None, end),
        [start, end] => (start, None, end),
        [start, step, end] => (start, Some(step), end),
        _ => return Err(bad()),
    };
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if step == 0 {
        return Err(bad());
    }
    let mut values = Vec::new();
    let mut value = start;
    while (step > 0 && value <= end) || (step < 0 && value >= end) {
        if values.len() >= MAX_REPETITIONS {
            return Err(bad());
        }
        values.push(vec![if hex {
            format!("{value:x}")
        } else {
            value.to_string()
        }]);
        value += step;
    }
    Ok(Repeat {
        variables: vec![variable.to_string()],
        values,
    })
}

/// `~LST(var, v1, v2, ...)` or `~LST({a, b}, {1, 2}, {3, 4}, ...)`.
fn list(inside: &str) -> Result<Repeat, RepeatError> {
    let bad = || RepeatError::BadList(inside.to_string());
    let items = split_top_level(inside);
    let (head, rest) = items.split_first().ok_or_else(bad)?;
    let group = |item: &str| -> Vec<String> {
        let item = item.trim();
        let inner = item
            .strip_prefix('{')
            .and_then(|i| i.strip_suffix('}'))
            .unwrap_or(item);
        inner.split(',').map(|v| v.trim().to_string()).collect()
    };
    let variables = group(head);
    if variables.iter().any(|v| !is_name(v)) || rest.is_empty() {
        return Err(bad());
    }
    let values: Vec<Vec<String>> = rest.iter().map(|item| group(item)).collect();
    if values.iter().any(|v| v.len() != variables.len()) {
        return Err(bad());
    }
    Ok(Repeat { variables, values })
}

/// Splits on the commas outside `{...}`.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (index, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defined(pairs: &[(&str, &str)]) -> Definitions {
        let mut definitions = Definitions::new("dr1");
        for (name, value) in pairs {
            definitions.define(name, value);
        }
        definitions
    }

    #[test]
    fn definitions_are_read_with_their_continuation() {
        assert_eq!(
            definition("$PRIO=100"),
            Some(Definition {
                name: "PRIO".into(),
                value: "100".into(),
                continues: false
            })
        );
        assert_eq!(
            definition("$INSTANCE= \\"),
            Some(Definition {
                name: "INSTANCE".into(),
                value: String::new(),
                continues: true
            })
        );
        assert_eq!(definition("priority $PRIO"), None);
        assert_eq!(continued("  interface eth0 \\"), ("  interface eth0", true));
    }

    /// keepalived.conf(5)'s own example: substitution at the time of use, recursively.
    #[test]
    fn uses_are_replaced_at_use_and_recursively() {
        let mut definitions = defined(&[("ADDRESS_BASE", "10.2.${ADDRESS_BASE_SUB}")]);
        definitions.define("ADDRESS_BASE_SUB", "0");
        assert_eq!(
            definitions.substitute("${ADDRESS_BASE}.100/32", "/").text,
            "10.2.0.100/32"
        );
        definitions.define("ADDRESS_BASE_SUB", "10");
        assert_eq!(
            definitions.substitute("${ADDRESS_BASE}.100/32", "/").text,
            "10.2.10.100/32"
        );
        // `$NAME` needs whitespace (or the line's end) after it; `${NAME}` does not.
        let definitions = defined(&[("N", "7")]);
        assert_eq!(
            definitions.substitute("a $N b ${N}x $N", "/").text,
            "a 7 b 7x 7"
        );
        assert_eq!(definitions.substitute("$N.1", "/").text, "$N.1");
        let left = definitions.substitute("priority $NOPE ${ALSO}", "/");
        assert_eq!(left.text, "priority $NOPE ${ALSO}");
        assert_eq!(
            left.undefined,
            vec![("NOPE".to_string(), 10), ("ALSO".to_string(), 16)]
        );
        let runaway = defined(&[("LOOP", "x ${LOOP}")]).substitute("${LOOP}", "/");
        assert!(runaway.runaway);
    }

    #[test]
    fn predefined_definitions() {
        let definitions = defined(&[]);
        assert_eq!(
            definitions
                .substitute(
                    "${_PWD}/s.sh ${_INSTANCE} ${_HASH}${_BANG}",
                    "/etc/keepalived"
                )
                .text,
            "/etc/keepalived/s.sh dr1 #!"
        );
        for _ in 0..50 {
            let value: u32 = definitions
                .substitute("${_RANDOM 5 7}", "/")
                .text
                .parse()
                .expect("a number");
            assert!((5..=7).contains(&value));
        }
    }

    #[test]
    fn sequences_and_lists_as_the_manual_describes_them() {
        let (subnets, rest) = repeat("~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1")
            .expect("a repeater")
            .expect("valid");
        assert_eq!(rest, " ip_address 10.0.${SUBNET}.1");
        assert_eq!(subnets.variables, vec!["SUBNET"]);
        assert_eq!(
            subnets.values,
            vec![vec!["0"], vec!["1"], vec!["2"], vec!["3"]]
        );
        let values = |line| repeat(line).expect("repeater").expect("valid").0.values;
        assert_eq!(
            values("~SEQx(S, 0x90, 0x10, 0xc0) x"),
            vec![vec!["90"], vec!["a0"], vec!["b0"], vec!["c0"]]
        );
        assert_eq!(
            values("~SEQ(S, 3) x"),
            vec![vec!["1"], vec!["2"], vec!["3"]]
        );
        assert_eq!(
            values("~SEQ(S, 3, 1) x"),
            vec![vec!["3"], vec!["2"], vec!["1"]]
        );
        assert_eq!(
            values("~SEQx(S, 0x12, -1, 0x10) x"),
            vec![vec!["12"], vec!["11"], vec!["10"]]
        );
        let (list, _) = repeat("~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}")
            .expect("repeater")
            .expect("valid");
        assert_eq!(list.variables, vec!["IP", "IP1"]);
        assert_eq!(list.values, vec![vec!["10", "1"], vec!["20", "4"]]);
        assert_eq!(
            values("~LST(IP, 1, 2, 3) x"),
            vec![vec!["1"], vec!["2"], vec!["3"]]
        );
        assert!(repeat("~SEQ(S, 1, x) y").expect("repeater").is_err());
        assert!(repeat("~SEQ(S, 1, 0, 5) y").expect("repeater").is_err());
        assert!(repeat("~LST({A, B}, {1}) y").expect("repeater").is_err());
        assert!(repeat("~SEQ(S, 1").expect("repeater").is_err());
        assert!(repeat("priority 1").is_none());
    }
}
