//! Parsers for single values. Each returns a message that says what is wrong and what would be
//! right; the caller adds file, line, section and key.

use super::Parsed;

/// yes/no, true/false, on/off, 1/0, as systemd and OpenWrt accept them.
pub fn boolean(text: &str) -> Parsed<bool> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a boolean; write yes or no (true/false, on/off and 1/0 work too)"
        )
        .into()),
    }
}

/// A plain decimal number in `min..=max`. Signs, hex and leading zeros are refused, because
/// `010` or `0x10` mean different numbers to different tools.
pub fn number(text: &str, min: u64, max: u64) -> Parsed<u64> {
    if text.is_empty() {
        return Err(format!("a number is missing; give one in {min}..{max}").into());
    }
    if let Some(rest) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        let hint = u64::from_str_radix(rest, 16)
            .map(|n| format!(" ({n} in decimal)"))
            .unwrap_or_default();
        return Err(format!("`{text}` is hexadecimal; write the number in decimal{hint}").into());
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a whole number; give one in {min}..{max}").into());
    }
    if text.len() > 1 && text.starts_with('0') {
        let trimmed = text.trim_start_matches('0');
        let plain = if trimmed.is_empty() { "0" } else { trimmed };
        return Err(format!("`{text}` has a leading zero; write `{plain}`").into());
    }
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{text} is out of range {min}..{max}").into()),
    }
}

/// White space as the kernel's `isspace` sees it (`lib/ctype.c`): tab to carriage return, the
/// space, and 0xA0 (no-break space in Latin-1), which is also the second byte of UTF-8 letters
/// such as `à` and Cyrillic `Р`.
fn kernel_space(b: u8) -> bool {
    matches!(b, 0x09..=0x0d | b' ' | 0xa0)
}

/// Interface names as the kernel takes them (`dev_valid_name` in `net/core/dev.c`): 1 to 15
/// bytes, not `.` or `..`, and no `/`, `:` or byte the kernel counts as white space.
pub fn ifname(text: &str) -> Parsed<()> {
    if text.is_empty() {
        return Err("an interface name is missing; write one, e.g. `eth0`".into());
    }
    if text.len() > 15 {
        return Err(format!(
            "interface name `{text}` is {} bytes long; the kernel allows at most 15",
            text.len()
        )
        .into());
    }
    if text == "." || text == ".." {
        return Err(format!("`{text}` cannot be an interface name").into());
    }
    if let Some(c) = text.chars().find(|c| *c == '/' || *c == ':') {
        return Err(format!(
            "interface name `{text}` contains `{c}`; names may not contain `/`, `:` or white space"
        )
        .into());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "interface name `{text}` contains white space or a control character; names may not contain `/`, `:` or white space"
        )
        .into());
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.encode_utf8(&mut [0; 4]).bytes().any(kernel_space))
    {
        return Err(format!(
            "interface name `{text}`: the kernel refuses `{c}`, because one of its UTF-8 bytes (0xA0) counts as white space to it; use plain ASCII letters, digits, `.`, `-` and `_`"
        )
        .into());
    }
    Ok(())
}

/// The closest word to `word` in `candidates`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for t in ["yes", "true", "on", "1", "YES"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["no", "false", "off", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert!(boolean("maybe").unwrap_err().contains("write yes or no"));
    }

    #[test]
    fn numbers() {
        assert_eq!(number("10", 1, 4094), Ok(10));
        assert_eq!(
            number("4095", 1, 4094).unwrap_err(),
            "4095 is out of range 1..4094"
        );
        assert_eq!(
            number("0", 1, 4094).unwrap_err(),
            "0 is out of range 1..4094"
        );
        assert!(
            number("-1", 1, 4094)
                .unwrap_err()
                .contains("not a whole number")
        );
        assert_eq!(
            number("010", 1, 4094).unwrap_err(),
            "`010` has a leading zero; write `10`"
        );
        assert_eq!(
            number("0x10", 1, 4094).unwrap_err(),
            "`0x10` is hexadecimal; write the number in decimal (16 in decimal)"
        );
        assert!(
            number("ten", 1, 4094)
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(
            number("99999999999999999999999", 1, 4094)
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn interface_names() {
        assert!(ifname("eth0.10").is_ok());
        assert!(ifname("").is_err());
        assert!(ifname("abcdefghijklmnop").unwrap_err().contains("16 bytes"));
        assert!(ifname("a/b").unwrap_err().contains("`/`"));
        assert!(ifname("a:b").unwrap_err().contains("`:`"));
        assert!(ifname("..").is_err());
        // The kernel's ctype counts 0xA0 as white space: `à` is C3 A0, Cyrillic `Р` is D0 A0.
        assert!(ifname("mà").unwrap_err().contains("0xA0"));
        assert!(ifname("Рlan").unwrap_err().contains("0xA0"));
        assert!(ifname("é0").is_ok());
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("mdoe", ["mode", "mtu", "mac"]), Some("mode"));
        assert_eq!(closest("protocl", ["protocol", "id"]), Some("protocol"));
        assert_eq!(closest("zzzzzz", ["mode", "mtu"]), None);
    }
}
