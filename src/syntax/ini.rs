//! The INI lexer: config text in, sections of `key = value` entries out, every piece tagged with
//! its line number. It knows nothing about link kinds; `config::parse` gives the entries meaning.

use super::error::{ConfigError, Problems};

/// Configs are a few dozen lines; anything this large is a mistake (or an attack), and refusing
/// it early keeps memory bounded (a config of this size with one link per two lines parses in
/// about 10 MB).
pub const MAX_CONFIG_BYTES: usize = 256 << 10;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// One `[word name]` or `[global]` header and the entries below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The first word of the header: `global` or a link kind.
    pub word: String,
    /// The second word, if any: the interface name.
    pub name: Option<String>,
    pub line: usize,
    pub entries: Vec<Entry>,
    /// Which of the config's files it is in (0: the main file).
    pub file: usize,
}

impl Section {
    /// How errors refer to this section, e.g. `[vlan eth0.10]`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("[{} {}]", self.word, name),
            None => format!("[{}]", self.word),
        }
    }
}

/// Split raw file bytes into sections. Encoding problems are fatal for the whole file; line-level
/// problems are collected so the user sees all of them at once.
pub fn lex(bytes: &[u8], problems: &mut Problems) -> Vec<Section> {
    if bytes.len() > MAX_CONFIG_BYTES {
        problems.push(ConfigError::file(format!(
            "the file is larger than {MAX_CONFIG_BYTES} bytes (256 KiB), the most a config may be; is this the right file?"
        )));
        return Vec::new();
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        problems.push(ConfigError::file(
            "the file is UTF-16 text; save it as UTF-8 (plain ASCII is fine)".into(),
        ));
        return Vec::new();
    }
    // A UTF-8 byte-order mark is harmless: editors on Windows add it. Skip it.
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);

    let mut sections: Vec<Section> = Vec::new();
    // After a header that could not be read, its keys belong to no section we know: skip them
    // rather than blame them on the section before.
    let mut in_broken_section = false;
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = match std::str::from_utf8(raw) {
            Ok(text) => text,
            Err(_) => {
                problems.push(ConfigError::at(
                    line,
                    "this line is not valid UTF-8 text; is this really an underlay config?".into(),
                ));
                continue;
            }
        };
        if text.contains('\r') {
            problems.push(ConfigError::at(
                line,
                "this line holds a carriage return (U+000D) in the middle: the file seems to use \
                 old Mac (CR-only) line endings; save it with LF or CRLF line endings"
                    .into(),
            ));
            continue;
        }
        if let Some(bad) = text.chars().find(|c| c.is_control() && *c != '\t') {
            problems.push(ConfigError::at(
                line,
                format!(
                    "this line holds the control character U+{:04X}; is this really an underlay config?",
                    bad as u32
                ),
            ));
            continue;
        }
        let text = strip_comment(text).trim();
        if text.is_empty() {
            continue;
        }
        if text.starts_with('[') {
            match parse_header(text) {
                Ok((word, name)) => {
                    in_broken_section = false;
                    sections.push(Section {
                        word,
                        name,
                        line,
                        entries: Vec::new(),
                        file: 0,
                    })
                }
                Err(message) => {
                    in_broken_section = true;
                    problems.push(ConfigError::at(line, message))
                }
            }
            continue;
        }
        if in_broken_section {
            continue;
        }
        let Some((key, value)) = text.split_once('=') else {
            problems.push(ConfigError::at(
                line,
                format!("`{text}` is not a `key = value` line or a `[kind name]` section header"),
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            problems.push(ConfigError::at(
                line,
                "the line starts with `=`: a key is missing before it".into(),
            ));
            continue;
        }
        match sections.last_mut() {
            Some(section) => section.entries.push(Entry {
                key: key.to_string(),
                value: value.to_string(),
                line,
            }),
            None => problems.push(ConfigError::at(
                line,
                format!(
                    "`{key}` comes before any section; put it under [global] or a section such as [macvlan mv0]"
                ),
            )),
        }
    }
    sections
}

/// Comments start with `#` or `;` at the start of a line, or after white space later on, so a
/// value can still hold those characters when they are not preceded by a space.
fn strip_comment(text: &str) -> &str {
    let trimmed = text.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return "";
    }
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if (b == b'#' || b == b';') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return &text[..i];
        }
    }
    text
}

fn parse_header(text: &str) -> Result<(String, Option<String>), String> {
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return Err(format!(
            "`{text}` is not a complete section header; write it as `[kind name]`, e.g. `[macvlan mv0]`"
        ));
    };
    if inner.contains(['[', ']']) {
        return Err(format!(
            "`{text}` has more than one pair of brackets; write `[{}]`",
            inner.trim_matches(['[', ']']).trim()
        ));
    }
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        [] => Err("empty section header `[]`; write `[kind name]`, e.g. `[vlan eth0.10]`".into()),
        [word] => Ok((word.to_string(), None)),
        [word, name] => Ok((word.to_string(), Some(name.to_string()))),
        _ => Err(format!(
            "section header `{text}` has {} words; write `[kind name]` with one kind and one interface name",
            words.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_ok(text: &str) -> Vec<Section> {
        let mut problems = Problems::default();
        let sections = lex(text.as_bytes(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        sections
    }

    fn lex_err(bytes: &[u8]) -> Vec<String> {
        let mut problems = Problems::default();
        lex(bytes, &mut problems);
        problems.iter().map(|p| p.render("f")).collect()
    }

    #[test]
    fn sections_entries_and_lines() {
        let s = lex_ok("# top\n[global]\nwait = 5 # inline\n\n[vlan eth0.10]\n; note\nid=10\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].word, "global");
        assert_eq!(s[0].name, None);
        assert_eq!(s[0].entries[0].value, "5");
        assert_eq!(s[0].entries[0].line, 3);
        assert_eq!(s[1].label(), "[vlan eth0.10]");
        assert_eq!(s[1].line, 5);
        assert_eq!(s[1].entries[0].key, "id");
        assert_eq!(s[1].entries[0].line, 7);
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let s = lex_ok("\u{feff}[dummy dm0]\r\nmtu = 1400\r\n");
        assert_eq!(s[0].word, "dummy");
        assert_eq!(s[0].entries[0].value, "1400");
    }

    #[test]
    fn hash_inside_a_value_without_space_is_kept() {
        let s = lex_ok("[x y]\nk = a#b ; c\n");
        assert_eq!(s[0].entries[0].value, "a#b");
    }

    #[test]
    fn line_errors_carry_line_numbers() {
        assert_eq!(
            lex_err(b"[global]\njunk\n"),
            ["f:2: `junk` is not a `key = value` line or a `[kind name]` section header"]
        );
        assert_eq!(
            lex_err(b"mtu = 1\n"),
            [
                "f:1: `mtu` comes before any section; put it under [global] or a section such as [macvlan mv0]"
            ]
        );
        assert!(lex_err(b"[a b c]\n")[0].starts_with("f:1: section header `[a b c]` has 3 words"));
        assert!(lex_err(b"[vlan eth0\n")[0].contains("not a complete section header"));
        assert!(lex_err(b"[global]\n= 3\n")[0].starts_with("f:2: the line starts with `=`"));
    }

    #[test]
    fn binary_and_utf16_are_refused() {
        assert!(
            lex_err(b"[global]\n\xff\xfe\x00garbage\n")[0]
                .starts_with("f:2: this line is not valid UTF-8")
        );
        assert!(lex_err(b"\xff\xfe[\x00")[0].contains("UTF-16"));
        assert!(lex_err(b"[global]\x00\n")[0].contains("U+0000"));
        let big = vec![b'#'; MAX_CONFIG_BYTES + 1];
        assert!(lex_err(&big)[0].contains("larger than 262144 bytes"));
    }
}
