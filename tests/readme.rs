//! Every `ini` block in README.md is a config users will copy: each must pass `underlay validate`.

use std::process::Command;

#[test]
fn every_readme_config_validates() {
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
        blocks.len() >= 6,
        "expected the reference and the seed examples, found {}",
        blocks.len()
    );
    let dir = std::env::temp_dir().join(format!("underlay-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, block) in blocks.iter().enumerate() {
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
