//! Reading one section's entries: each key is taken at most once by the code that understands it,
//! so whatever is left over at the end is a key this kind does not take.

use super::error::{ConfigError, Problems};
use super::ini::{Entry, Section};
use super::{Parsed, values};

/// The message for `key =` with nothing after it: the parser's own advice, taken from what it
/// says about an empty value ("... is not a boolean; write yes or no").
fn missing_value<T>(key: &str, parse: impl FnOnce(&str) -> Parsed<T>) -> String {
    match parse("") {
        Err(e) if e.contains("is missing") => e.0,
        Err(e) => match e.split_once("; ") {
            Some((_, advice)) => format!("a value is missing after `=`; {advice}"),
            None => format!("a value is missing after `=`; give one, or delete the `{key}` line"),
        },
        Ok(_) => format!("a value is missing after `=`; give one, or delete the `{key}` line"),
    }
}

/// What `finish` says about a key this section does not take.
pub enum Elsewhere {
    /// Other sections take it: they are named (`mode` in a vlan belongs to macvlan, ipvlan).
    Kinds(Vec<&'static str>),
    /// Why this section cannot take it (a dummy has no parent).
    Reason(String),
}

pub struct SectionReader<'a> {
    section: &'a Section,
    label: String,
    taken: Vec<bool>,
    /// Every key this section may hold, for the "did you mean" hint.
    allowed: Vec<&'static str>,
    problems: &'a mut Problems,
}

impl<'a> SectionReader<'a> {
    pub fn new(
        section: &'a Section,
        allowed: Vec<&'static str>,
        problems: &'a mut Problems,
    ) -> Self {
        SectionReader {
            label: section.label(),
            taken: vec![false; section.entries.len()],
            section,
            allowed,
            problems,
        }
    }

    /// The interface name from the header (`[vlan eth0.10]` gives `eth0.10`).
    pub fn name(&self) -> &str {
        self.section.name.as_deref().unwrap_or("")
    }

    pub fn line(&self) -> usize {
        self.section.line
    }

    /// Report a problem with `key` on `line`.
    pub fn error(&mut self, line: usize, key: Option<&str>, message: String) {
        self.problems
            .push(ConfigError::in_section(line, &self.label, key, message));
    }

    /// The single entry for `key`, if present. A repeated key is an error.
    pub fn one(&mut self, key: &str) -> Option<Entry> {
        let mut found: Option<Entry> = None;
        for (i, entry) in self.section.entries.iter().enumerate() {
            if entry.key != key {
                continue;
            }
            self.taken[i] = true;
            match &found {
                None => found = Some(entry.clone()),
                Some(first) => {
                    let first_line = first.line;
                    self.error(
                        entry.line,
                        Some(key),
                        format!(
                            "given again (first on line {first_line}); `{key}` may appear only once"
                        ),
                    );
                }
            }
        }
        found
    }

    /// Every entry for a repeatable key, in file order.
    pub fn all(&mut self, key: &str) -> Vec<Entry> {
        let mut found = Vec::new();
        for (i, entry) in self.section.entries.iter().enumerate() {
            if entry.key == key {
                self.taken[i] = true;
                found.push(entry.clone());
            }
        }
        found
    }

    /// The single value of `key` run through `parse`; a parse error is reported with its line.
    pub fn value<T>(&mut self, key: &str, parse: impl FnOnce(&str) -> Parsed<T>) -> Option<T> {
        let entry = self.one(key)?;
        if entry.value.is_empty() {
            let message = missing_value(key, parse);
            self.error(entry.line, Some(key), message);
            return None;
        }
        match parse(&entry.value) {
            Ok(value) => Some(value),
            Err(message) => {
                self.error(entry.line, Some(key), message.0);
                None
            }
        }
    }

    /// Every value of a repeatable `key` run through `parse`, with the line each came from.
    pub fn values<T>(
        &mut self,
        key: &str,
        mut parse: impl FnMut(&str) -> Parsed<T>,
    ) -> Vec<(T, usize)> {
        let mut out = Vec::new();
        for entry in self.all(key) {
            if entry.value.is_empty() {
                let message = missing_value(key, &mut parse);
                self.error(entry.line, Some(key), message);
                continue;
            }
            match parse(&entry.value) {
                Ok(value) => out.push((value, entry.line)),
                Err(message) => self.error(entry.line, Some(key), message.0),
            }
        }
        out
    }

    pub fn boolean(&mut self, key: &str) -> Option<bool> {
        self.value(key, values::boolean)
    }

    pub fn number(&mut self, key: &str, min: u64, max: u64) -> Option<u64> {
        self.value(key, |text| values::number(text, min, max))
    }

    /// The line `key` was given on, without taking it.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.section
            .entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.line)
    }

    /// Report every key nobody took: it is one this kind does not take. `elsewhere` says which
    /// other kinds take a key, so `mode` in a vlan section can point at macvlan and ipvlan.
    pub fn finish(mut self, what: &str, elsewhere: impl Fn(&str) -> Elsewhere) {
        let leftovers: Vec<Entry> = self
            .section
            .entries
            .iter()
            .zip(&self.taken)
            .filter(|(_, taken)| !**taken)
            .map(|(entry, _)| entry.clone())
            .collect();
        for entry in leftovers {
            let key = entry.key.as_str();
            let lower = key.to_ascii_lowercase();
            let mut message = if lower != key && self.allowed.contains(&lower.as_str()) {
                format!("keys are lower-case; write `{lower}`")
            } else {
                let mut m = format!("{what} takes no key `{key}`");
                match elsewhere(key) {
                    Elsewhere::Reason(why) => m.push_str(&format!(": {why}")),
                    // A real key of another kind: say whose, no spelling guess.
                    Elsewhere::Kinds(others) if !others.is_empty() => {
                        m.push_str(&format!(" (it belongs to {})", others.join(", ")))
                    }
                    Elsewhere::Kinds(_) => {
                        if let Some(near) = values::closest(&lower, self.allowed.iter().copied()) {
                            m.push_str(&format!("; did you mean `{near}`?"));
                        }
                    }
                }
                m
            };
            if !message.starts_with("keys are") {
                if !message.ends_with('?') {
                    message.push('.');
                }
                message.push_str(&format!(" It takes: {}.", self.allowed.join(", ")));
            }
            self.error(entry.line, Some(key), message);
        }
    }
}
