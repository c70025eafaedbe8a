//! keepalived's configuration language, below the meaning of any keyword: lines of words,
//! `{ }` blocks, `!` and `#` comments, quoted strings, `include` with globs, `@id` conditional
//! lines, and the parameter language of `definitions` (`$NAME=value`, single- or multi-line,
//! `~SEQ` / `~LST` repeaters). The result is a tree of [`Node`]s whose every word
//! knows its file, line and column.

use super::definitions::{self, Definitions};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a word is: `file:line:col`, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A problem found in a configuration, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl Diagnostic {
    pub fn new(location: &Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            location: location.clone(),
            message: message.into(),
        }
    }
}

/// A word (keyword or argument); quotes are removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub location: Location,
    /// It was written in double quotes.
    pub quoted: bool,
}

/// One statement: a keyword, its arguments on the same line, and an optional block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub keyword: Word,
    pub args: Vec<Word>,
    pub block: Option<Vec<Node>>,
}

#[derive(Clone, Debug)]
enum Token {
    Word(Word),
    Open(Location),
    Close(Location),
    EndOfLine,
}

/// Options that decide which lines of a file take part.
#[derive(Clone, Debug, Default)]
pub struct LexOptions {
    /// keepalived's config_id (`-i`): `@id` lines apply only when it matches, `@^id` lines only
    /// when it does not. keepalived's default is the host name.
    pub config_id: Option<String>,
}

/// Expansions (a definition used in a definition, repeaters on one line) deeper than this stop.
const MAX_EXPANSION_NESTING: usize = 32;

/// Nested includes deeper than this are an error (an include cycle, most likely).
const MAX_INCLUDE_DEPTH: usize = 16;

/// A file's tree of nodes, and what keepalived's parser would have reported on the way and
/// run anyway.
#[derive(Debug)]
pub struct Parsed {
    pub nodes: Vec<Node>,
    /// What keepalived reports as a configuration error (its config test exits 5).
    pub warnings: Vec<Diagnostic>,
    /// What keepalived only logs (its config test still exits 0).
    pub notices: Vec<Diagnostic>,
}

/// Reads `path` (and whatever it includes) into a tree of nodes. Only a file that cannot be
/// read (or an unterminated quote, on which keepalived 2.2.7 crashes) is an error; what
/// keepalived's lib/parser.c forgives (an unclosed or stray brace, a missing include, an
/// undefined `$NAME`) is a warning, handled as keepalived handles it.
pub fn parse_file(path: &Path, options: &LexOptions) -> Result<Parsed, Diagnostic> {
    let mut lexer = Lexer {
        tokens: Vec::new(),
        definitions: Definitions::new(options.config_id.as_deref().unwrap_or_default()),
        options: options.clone(),
        warnings: Vec::new(),
        notices: Vec::new(),
    };
    let top = Location {
        file: Arc::new(path.to_path_buf()),
        line: 0,
        column: 0,
    };
    lexer.lex_file(path, &top, 0)?;
    let mut parser = Parser {
        tokens: lexer.tokens,
        at: 0,
        warnings: lexer.warnings,
    };
    let nodes = parser.nodes(None)?;
    Ok(Parsed {
        nodes,
        warnings: parser.warnings,
        notices: lexer.notices,
    })
}

struct Lexer {
    tokens: Vec<Token>,
    definitions: Definitions,
    options: LexOptions,
    warnings: Vec<Diagnostic>,
    notices: Vec<Diagnostic>,
}

impl Lexer {
    fn lex_file(
        &mut self,
        path: &Path,
        included_at: &Location,
        depth: usize,
    ) -> Result<(), Diagnostic> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(Diagnostic::new(
                included_at,
                "includes nested too deeply (an include cycle?)",
            ));
        }
        let bytes = std::fs::read(path).map_err(|error| {
            Diagnostic::new(
                included_at,
                format!("cannot read {}: {error}", path.display()),
            )
        })?;
        // Comments in the seed files are UTF-8; anything else is kept byte-for-byte as far as
        // possible rather than refused.
        let text = String::from_utf8_lossy(&bytes);
        let file = Arc::new(path.to_path_buf());
        let lines: Vec<&str> = text.lines().collect();
        let mut index = 0;
        while index < lines.len() {
            let line_number = index + 1;
            let raw = lines[index];
            index += 1;
            let location = |column: usize| Location {
                file: Arc::clone(&file),
                line: line_number,
                column,
            };
            // A multi-line definition takes the lines after it, up to one without a final `\`.
            if let Some(line) = self.condition(raw)
                && let Some(definition) = definitions::definition(&line)
                && definition.continues
            {
                let mut value = definition.value;
                let mut more = true;
                while more && index < lines.len() {
                    let (text, next) = definitions::continued(lines[index]);
                    index += 1;
                    if !value.is_empty() {
                        value.push('\n');
                    }
                    value.push_str(text);
                    more = next;
                }
                self.definitions.define(&definition.name, &value);
                continue;
            }
            self.lex_line(raw, &location, path, depth, 0)?;
        }
        Ok(())
    }

    /// Applies an `@id` / `@^id` condition: the line without it, or `None` when the line takes no
    /// part. The indentation is kept, so that columns stay those of the file.
    fn condition(&self, raw: &str) -> Option<String> {
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        let Some(rest) = trimmed.strip_prefix('@') else {
            return Some(raw.to_string());
        };
        let (condition, body) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let (negated, id) = match condition.strip_prefix('^') {
            Some(id) => (true, id),
            None => (false, condition),
        };
        let matches = self.options.config_id.as_deref() == Some(id);
        (matches != negated).then(|| format!("{}{body}", " ".repeat(indent + 1 + condition.len())))
    }

    /// One line of the file, or of an expansion: condition, definition, repeater, substitution
    /// (a multi-line definition's use, or a use that yields a condition, is read line by line
    /// again), then its words.
    fn lex_line(
        &mut self,
        raw: &str,
        location: &dyn Fn(usize) -> Location,
        path: &Path,
        depth: usize,
        nesting: usize,
    ) -> Result<(), Diagnostic> {
        if nesting > MAX_EXPANSION_NESTING {
            self.warnings.push(Diagnostic::new(
                &location(1),
                "definitions and repeaters nested too deeply - line ignored",
            ));
            return Ok(());
        }
        let Some(mut line) = self.condition(raw) else {
            return Ok(());
        };
        if let Some(definition) = definitions::definition(&line) {
            self.definitions.define(&definition.name, &definition.value);
            return Ok(());
        }
        match definitions::repeat(&line) {
            Some(Ok((repeat, rest))) => {
                let rest = rest.to_string();
                for values in &repeat.values {
                    for (variable, value) in repeat.variables.iter().zip(values) {
                        self.definitions.define(variable, value);
                    }
                    self.lex_line(&rest, location, path, depth, nesting + 1)?;
                }
                for variable in &repeat.variables {
                    self.definitions.forget(variable);
                }
                return Ok(());
            }
            Some(Err(error)) => {
                self.warnings.push(Diagnostic::new(
                    &location(1),
                    format!("{error} - line ignored, as keepalived ignores it"),
                ));
                return Ok(());
            }
            None => {}
        }
        // Comments first, so that a `$` in a comment is just text (and `${_HASH}` is not one).
        line.truncate(comment_start(&line));
        if line.contains('$') {
            let pwd = path
                .parent()
                .unwrap_or(Path::new("."))
                .display()
                .to_string();
            let substituted = self.definitions.substitute(&line, &pwd);
            for (name, column) in &substituted.undefined {
                self.notices.push(Diagnostic::new(
                    &location(*column),
                    format!("${name} is not defined - left as written, as keepalived leaves it"),
                ));
            }
            if substituted.runaway {
                self.warnings.push(Diagnostic::new(
                    &location(1),
                    "a definition uses itself - replacement stopped",
                ));
            }
            let expanded = substituted.text;
            if expanded.contains('\n') || expanded.trim_start().starts_with('@') {
                for sub in expanded.lines() {
                    self.lex_line(sub, location, path, depth, nesting + 1)?;
                }
                return Ok(());
            }
            line = expanded;
        }
        let words = split_line(&line, location, &mut self.warnings);
        if let Some(first) = words.first()
            && first.text == "include"
            && !first.quoted
        {
            return self.include(path, &words, depth);
        }
        for word in words {
            let token = match (word.text.as_str(), word.quoted) {
                ("{", false) => Token::Open(word.location),
                ("}", false) => Token::Close(word.location),
                _ => Token::Word(word),
            };
            self.tokens.push(token);
        }
        self.tokens.push(Token::EndOfLine);
        Ok(())
    }

    /// `include PATTERN`: every file the glob matches, relative to the including file's folder,
    /// in sorted order.
    fn include(
        &mut self,
        including: &Path,
        words: &[Word],
        depth: usize,
    ) -> Result<(), Diagnostic> {
        let Some(pattern) = words.get(1) else {
            return Err(Diagnostic::new(
                &words[0].location,
                "include needs a file name or pattern",
            ));
        };
        let base = including.parent().unwrap_or(Path::new("."));
        let full = if Path::new(&pattern.text).is_absolute() {
            PathBuf::from(&pattern.text)
        } else {
            base.join(&pattern.text)
        };
        let Some(full_text) = full.to_str() else {
            return Err(Diagnostic::new(
                &pattern.location,
                "include path is not valid UTF-8",
            ));
        };
        let matches: Vec<PathBuf> = match glob::glob(full_text) {
            Ok(paths) => paths.filter_map(Result::ok).collect(),
            Err(error) => {
                return Err(Diagnostic::new(
                    &pattern.location,
                    format!("bad include pattern: {error}"),
                ));
            }
        };
        if matches.is_empty() {
            // keepalived logs "Config files missing" and reads on, without counting it as a
            // configuration error: an optional include is common. Reported, never silent.
            self.notices.push(Diagnostic::new(
                &pattern.location,
                format!(
                    "include {} matches no file - ignored, as keepalived ignores it",
                    full.display()
                ),
            ));
            return Ok(());
        }
        for path in matches {
            self.lex_file(&path, &pattern.location, depth + 1)?;
        }
        Ok(())
    }
}

/// Where a line's comment starts (its length if it has none): the first `!` or `#` outside
/// quotes that begins a word.
fn comment_start(line: &str) -> usize {
    let mut in_quotes = false;
    let mut previous_is_space = true;
    for (index, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '!' | '#' if !in_quotes && previous_is_space => return index,
            _ => {}
        }
        previous_is_space = c.is_whitespace() || c == '{' || c == '}';
    }
    line.len()
}

/// Splits a line into words: whitespace separates, `{` and `}` stand alone, double quotes group
/// (with `\"` and `\\` escapes), and `!` or `#` at the start of a word begins a comment. An
/// unterminated quote runs to the end of the line, reported as keepalived reports it
/// ("Unmatched quote"), in `warnings`.
fn split_line(
    line: &str,
    location: &dyn Fn(usize) -> Location,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Word> {
    let mut words = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let column = i + 1;
        if c == '!' || c == '#' {
            break;
        }
        if c == '{' || c == '}' {
            words.push(Word {
                text: c.to_string(),
                location: location(column),
                quoted: false,
            });
            i += 1;
            continue;
        }
        if c == '"' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        warnings.push(Diagnostic::new(
                            &location(column),
                            "unterminated quoted string - read to the end of the line, as keepalived reads it",
                        ));
                        break;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if matches!(chars.get(i + 1), Some('"') | Some('\\')) => {
                        text.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(&other) => {
                        text.push(other);
                        i += 1;
                    }
                }
            }
            words.push(Word {
                text,
                location: location(column),
                quoted: true,
            });
            continue;
        }
        let mut text = String::new();
        while let Some(&next) = chars.get(i) {
            if next.is_whitespace() || next == '{' || next == '}' || next == '"' {
                break;
            }
            text.push(next);
            i += 1;
        }
        words.push(Word {
            text,
            location: location(column),
            quoted: false,
        });
    }
    words
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    warnings: Vec<Diagnostic>,
}

impl Parser {
    /// Statements until the closing brace of `open` (or the end of input at top level).
    fn nodes(&mut self, open: Option<&Location>) -> Result<Vec<Node>, Diagnostic> {
        let mut nodes = Vec::new();
        loop {
            match self.tokens.get(self.at).cloned() {
                None => {
                    // keepalived: "There are N missing '}'s or extra '{'s", and the blocks
                    // end with the file.
                    if let Some(location) = open {
                        self.warnings.push(Diagnostic::new(
                            location,
                            "this '{' is never closed - closed at the end of the file, as keepalived closes it",
                        ));
                    }
                    return Ok(nodes);
                }
                Some(Token::EndOfLine) => self.at += 1,
                Some(Token::Close(location)) => {
                    self.at += 1;
                    if open.is_some() {
                        return Ok(nodes);
                    }
                    // keepalived: "Extra '}' found", and reads on.
                    self.warnings.push(Diagnostic::new(
                        &location,
                        "'}' without a matching '{' - ignored, as keepalived ignores it",
                    ));
                }
                Some(Token::Open(location)) => {
                    // A block with no keyword: keepalived skips it with a report.
                    self.at += 1;
                    self.nodes(Some(&location))?;
                    self.warnings.push(Diagnostic::new(
                        &location,
                        "'{' without a keyword before it - block ignored, as keepalived ignores it",
                    ));
                }
                Some(Token::Word(keyword)) => {
                    self.at += 1;
                    nodes.push(self.statement(keyword)?);
                }
            }
        }
    }

    fn statement(&mut self, keyword: Word) -> Result<Node, Diagnostic> {
        let mut args = Vec::new();
        loop {
            match self.tokens.get(self.at).cloned() {
                Some(Token::Word(word)) => {
                    self.at += 1;
                    args.push(word);
                }
                Some(Token::Open(location)) => {
                    self.at += 1;
                    let block = self.nodes(Some(&location))?;
                    return Ok(Node {
                        keyword,
                        args,
                        block: Some(block),
                    });
                }
                Some(Token::EndOfLine) => {
                    self.at += 1;
                    // A block may open on the next line.
                    let mut look = self.at;
                    while matches!(self.tokens.get(look), Some(Token::EndOfLine)) {
                        look += 1;
                    }
                    if let Some(Token::Open(location)) = self.tokens.get(look).cloned() {
                        self.at = look + 1;
                        let block = self.nodes(Some(&location))?;
                        return Ok(Node {
                            keyword,
                            args,
                            block: Some(block),
                        });
                    }
                    return Ok(Node {
                        keyword,
                        args,
                        block: None,
                    });
                }
                Some(Token::Close(_)) | None => {
                    return Ok(Node {
                        keyword,
                        args,
                        block: None,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Parsed, Diagnostic> {
        let dir =
            std::env::temp_dir().join(format!("vrrp-syntax-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("k.conf");
        std::fs::write(&path, text).expect("write");
        let result = parse_file(&path, &LexOptions::default());
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    #[test]
    fn comments_quotes_and_nested_blocks() {
        let nodes = parse_text("! top\nglobal_defs {   # trailing\n  router_id \"DR 1\" ! x\n  notification_email {\n root@localhost\n }\n}\n")
            .expect("parse")
            .nodes;
        assert_eq!(nodes.len(), 1);
        let global = &nodes[0];
        assert_eq!(global.keyword.text, "global_defs");
        let block = global.block.as_ref().expect("block");
        assert_eq!(block[0].args[0].text, "DR 1");
        assert!(block[0].args[0].quoted);
        assert_eq!(
            block[1].block.as_ref().expect("emails")[0].keyword.text,
            "root@localhost"
        );
    }

    #[test]
    fn brace_on_the_next_line_and_attached_braces() {
        let nodes = parse_text("vrrp_instance VI_1\n{\n virtual_ipaddress {192.0.2.1}\n}\n")
            .expect("parse")
            .nodes;
        let block = nodes[0].block.as_ref().expect("block");
        assert_eq!(
            block[0].block.as_ref().expect("vips")[0].keyword.text,
            "192.0.2.1"
        );
    }

    #[test]
    fn definitions_and_conditionals() {
        let options = LexOptions {
            config_id: Some("dr1".into()),
        };
        let dir = std::env::temp_dir().join(format!("vrrp-syntax-defs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("k.conf");
        std::fs::write(
            &path,
            "$PRIO=100\n@dr1 priority $PRIO\n@^dr1 priority 50\n@dr2 priority 1\n",
        )
        .expect("write");
        let nodes = parse_file(&path, &options).expect("parse").nodes;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].args[0].text, "100");
    }

    #[test]
    fn a_file_that_cannot_be_read_is_the_one_error() {
        let error = parse_file(Path::new("/nonexistent/vrrpd.conf"), &LexOptions::default())
            .expect_err("missing file");
        assert!(error.message.contains("cannot read"), "{error}");
    }

    /// What keepalived's parser forgives is a located warning, handled as keepalived does.
    #[test]
    fn what_keepalived_forgives_is_located_and_handled_its_way() {
        let located = |parsed: &Parsed| -> Vec<(usize, usize)> {
            parsed
                .warnings
                .iter()
                .map(|w| (w.location.line, w.location.column))
                .collect()
        };
        // An unclosed block ends with the file; the inner one closed normally.
        let parsed = parse_text("a {\n b {\n}\nc 1\n").expect("unclosed");
        assert_eq!(located(&parsed), vec![(1, 3)]);
        let block = parsed.nodes[0].block.as_ref().expect("a's block");
        assert_eq!(
            (
                block[0].keyword.text.as_str(),
                block[1].keyword.text.as_str()
            ),
            ("b", "c")
        );
        // A stray brace is skipped, and the next statement read.
        let parsed = parse_text("a\n}\nb\n").expect("stray");
        assert_eq!(located(&parsed), vec![(2, 1)]);
        assert_eq!(parsed.nodes.len(), 2);
        // An undefined $NAME stays as written.
        let parsed = parse_text("priority $NOPE\n").expect("undefined");
        assert!(parsed.notices[0].message.contains("$NOPE"));
        assert_eq!(parsed.nodes[0].args[0].text, "$NOPE");
        // An unterminated quote runs to the end of the line.
        let parsed = parse_text("x \"open ended\ny\n").expect("quote");
        assert_eq!(located(&parsed), vec![(1, 3)]);
        assert_eq!(parsed.nodes[0].args[0].text, "open ended");
        assert_eq!(parsed.nodes.len(), 2);
        // A missing include is skipped.
        let parsed = parse_text("include /nonexistent/vrrpd-*.conf\nb\n").expect("include");
        assert_eq!(parsed.notices[0].location.line, 1);
        assert_eq!(parsed.nodes.len(), 1);
    }
}
