//! Arbitrary bytes as a config file: `config::parse` must return a config or errors, never
//! panic, and every error must render. Beyond not panicking, it checks what the rest of underlay
//! relies on: errors point at lines that exist, in line order; an accepted config has valid,
//! unique names and lists every declared parent before its children.
#![no_main]

use libfuzzer_sys::fuzz_target;
use underlay::syntax::values;

fuzz_target!(|bytes: &[u8]| {
    let lines = bytes.split(|&b| b == b'\n').count();
    match underlay::config::parse(bytes) {
        Ok(config) => {
            for (i, link) in config.links.iter().enumerate() {
                assert!(
                    values::ifname(&link.name).is_ok(),
                    "accepted an invalid name {:?}",
                    link.name
                );
                assert!(
                    config.links[..i].iter().all(|l| l.name != link.name),
                    "{:?} is declared twice",
                    link.name
                );
                if let Some(parent) = &link.parent {
                    assert_ne!(parent, &link.name, "{:?} is its own parent", link.name);
                    if let Some(p) = config.links.iter().position(|l| &l.name == parent) {
                        assert!(
                            p < i,
                            "parent {parent:?} comes after its child {:?}",
                            link.name
                        );
                    }
                }
                assert!(link.implicit || (1..=lines).contains(&link.line));
                let _ = config.links_on(&link.name);
                let _ = link.settings.summary();
                let _ = link.settings.create_data();
                let _ = link.settings.compare(&*link.settings);
                let _ = link.settings.change_data(&*link.settings);
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "parse failed without saying why");
            let mut last = 0;
            for e in &errors {
                let text = e.render("f");
                assert!(text.starts_with("f"));
                if let Some(line) = e.line {
                    assert!(
                        (1..=lines).contains(&line),
                        "error on line {line} of a {lines}-line file: {text}"
                    );
                    assert!(line >= last, "errors out of line order: {text}");
                    last = line;
                }
            }
        }
    }
});
