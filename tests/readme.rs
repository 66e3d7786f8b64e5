//! Every `ini` block in README.md is a config users will copy. Each must pass
//! `underlay validate`, and each one this kernel can build must apply cleanly, with `check`
//! exiting 0 afterwards.

mod common;

use std::process::Command;

use common::{Lab, nix_is_root};

fn readme_configs() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```ini") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        blocks.len() >= 7,
        "expected the reference, the seed examples and the shim, found {}",
        blocks.len()
    );
    blocks
}

#[test]
fn every_readme_config_validates() {
    let dir = std::env::temp_dir().join(format!("underlay-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, block) in readme_configs().iter().enumerate() {
        let path = dir.join(format!("example{i}.conf"));
        std::fs::write(&path, block).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_underlay"))
            .args(["-c", path.to_str().unwrap(), "validate"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "README example {i} does not validate:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether the kernel can make links of `kind` (probed in the lab's namespace).
fn kernel_has(lab: &Lab, kind: &str) -> bool {
    let args: Vec<&str> = match kind {
        "macvlan" => vec![
            "link", "add", "link", "vp0", "name", "kprobe", "type", "macvlan",
        ],
        "ipvlan" => vec![
            "link", "add", "link", "vp0", "name", "kprobe", "type", "ipvlan",
        ],
        "vlan" => vec![
            "link", "add", "link", "vp0", "name", "kprobe", "type", "vlan", "id", "9",
        ],
        _ => vec!["link", "add", "name", "kprobe", "type", kind],
    };
    let ok = Command::new("ip")
        .args(["-n", &lab.ns])
        .args(&args)
        .output()
        .unwrap()
        .status
        .success();
    if ok {
        lab.ip(&["link", "del", "kprobe"]);
    }
    ok
}

#[test]
fn every_readme_config_the_kernel_supports_applies_and_checks_clean() {
    if !nix_is_root() {
        eprintln!("skipped: applying the README's configs needs root");
        return;
    }
    for (i, block) in readme_configs().iter().enumerate() {
        let Some(lab) = Lab::new() else { return };
        let config = underlay::config::parse(block.as_bytes()).unwrap();
        let missing: Vec<&str> = ["vlan", "macvlan", "ipvlan", "dummy"]
            .into_iter()
            .filter(|k| config.links.iter().any(|l| l.kind.name == *k))
            .filter(|k| !kernel_has(&lab, k))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "README example {i}: not applied here, this kernel lacks {} (tests/vm covers it)",
                missing.join(", ")
            );
            continue;
        }
        // The examples' parents, as veth pairs; their namespaces, made unique to this run.
        for n in 0..4 {
            lab.ip(&[
                "link",
                "add",
                &format!("eth{n}"),
                "type",
                "veth",
                "peer",
                "name",
                &format!("peer{n}"),
            ]);
        }
        let prefix = format!("ur{}x{i}", std::process::id());
        let text: String = block
            .lines()
            .map(|l| match l.strip_prefix("netns = ") {
                Some(ns) => format!("netns = {prefix}{ns}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        lab.config(&text);
        let apply = lab.underlay(&["apply"]);
        let check = lab.underlay(&["check"]);
        let down = lab.underlay(&["down"]);
        assert_eq!(
            apply.code, 0,
            "README example {i} did not apply:\n{block}\n{apply:?}"
        );
        assert_eq!(
            check.code, 0,
            "README example {i}: check after apply:\n{block}\n{check:?}"
        );
        assert_eq!(down.code, 0, "README example {i}: down:\n{down:?}");
        eprintln!("README example {i}: applied, checked clean, taken down");
    }
}
