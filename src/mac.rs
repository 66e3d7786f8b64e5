//! MAC addresses, and the stable MACs that stay the same across reboots.
//!
//! `mac = stable` uses systemd-networkd's algorithm so that a box moving from networkd to underlay
//! keeps its MACs (and so its DHCP reservations): SipHash-2-4, keyed with networkd's fixed key,
//! over the 16 raw machine-id bytes followed by the interface name; the first 6 bytes of the
//! little-endian result, with the multicast bit cleared and the locally administered bit set.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// Parse `02:00:00:00:00:10` (or with `-` separators), insisting on a unicast, non-zero address
    /// because nothing else can be an interface's own MAC.
    pub fn parse_unicast(text: &str) -> Result<MacAddr, String> {
        let mac = MacAddr::parse(text)?;
        if mac.is_zero() {
            return Err(format!(
                "`{text}` is the all-zero MAC; give a real unicast address, e.g. 02:00:00:00:00:01"
            ));
        }
        if mac.is_multicast() {
            return Err(format!(
                "`{text}` is a multicast MAC (the lowest bit of the first byte is set); \
                 an interface needs a unicast one, e.g. {}",
                MacAddr([
                    mac.0[0] & 0xfe | 0x02,
                    mac.0[1],
                    mac.0[2],
                    mac.0[3],
                    mac.0[4],
                    mac.0[5]
                ])
            ));
        }
        Ok(mac)
    }

    pub fn parse(text: &str) -> Result<MacAddr, String> {
        let bad =
            || format!("`{text}` is not a MAC address; write six hex pairs like 02:00:00:00:00:10");
        let parts: Vec<&str> = text.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut bytes = [0u8; 6];
        for (byte, part) in bytes.iter_mut().zip(&parts) {
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        Ok(MacAddr(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// systemd-networkd's fixed hash key for generated netdev MACs (`HASH_KEY` in netdev.c).
const NETWORKD_HASH_KEY: [u8; 16] = [
    0x52, 0xe1, 0x45, 0xbd, 0x00, 0x6f, 0x29, 0x96, 0x21, 0xc6, 0x30, 0x6d, 0x83, 0x71, 0x04, 0x48,
];

/// What a stable MAC is derived from: the machine's identity, or, where there is none (OpenWrt),
/// the permanent MAC of the link's root parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacSeed {
    MachineId([u8; 16]),
    ParentMac(MacAddr),
}

pub fn stable_mac(seed: &MacSeed, ifname: &str) -> MacAddr {
    let mut input = Vec::with_capacity(16 + ifname.len());
    match seed {
        MacSeed::MachineId(id) => input.extend_from_slice(id),
        MacSeed::ParentMac(mac) => input.extend_from_slice(&mac.0),
    }
    input.extend_from_slice(ifname.as_bytes());
    let hash = siphash24(&NETWORKD_HASH_KEY, &input).to_le_bytes();
    let mut mac = [hash[0], hash[1], hash[2], hash[3], hash[4], hash[5]];
    mac[0] &= 0xfe; // clear the multicast bit
    mac[0] |= 0x02; // set the locally administered bit
    MacAddr(mac)
}

/// Parse `/etc/machine-id` contents: 32 hex digits, as systemd writes it.
pub fn parse_machine_id(text: &str) -> Option<[u8; 16]> {
    let hex = text.trim();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    // An all-zero id is what an unconfigured image carries; it identifies nothing.
    (id != [0; 16]).then_some(id)
}

/// SipHash-2-4 (Aumasson & Bernstein), as systemd's siphash24.c computes it.
pub fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let k0 = u64::from_le_bytes([
        key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
    ]);
    let k1 = u64::from_le_bytes([
        key[8], key[9], key[10], key[11], key[12], key[13], key[14], key[15],
    ]);
    let mut v = [
        k0 ^ 0x736f6d6570736575,
        k1 ^ 0x646f72616e646f6d,
        k0 ^ 0x6c7967656e657261,
        k1 ^ 0x7465646279746573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = u64::from_le_bytes(word);
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let tail = chunks.remainder();
    last[..tail.len()].copy_from_slice(tail);
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    round(&mut v);
    round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vectors from the SipHash paper (key 00..0f, message 00..len-1).
    #[test]
    fn siphash_reference_vectors() {
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        let msg: Vec<u8> = (0..64).collect();
        assert_eq!(siphash24(&key, &msg[..0]), 0x726fdb47dd0e0e31);
        assert_eq!(siphash24(&key, &msg[..1]), 0x74f839c593dc67fd);
        assert_eq!(siphash24(&key, &msg[..7]), 0xab0200f58b01d137);
        assert_eq!(siphash24(&key, &msg[..8]), 0x93f5f5799a932462);
        assert_eq!(siphash24(&key, &msg[..15]), 0xa129ca6149be45e5);
        assert_eq!(siphash24(&key, &msg[..63]), 0x958a324ceb064572);
    }

    /// Vectors computed with an independent Python port of the reference SipHash, laid out as
    /// networkd does (machine-id bytes, then the name; first 6 little-endian bytes).
    #[test]
    fn stable_mac_known_vectors() {
        let id = parse_machine_id("0123456789abcdef0123456789abcdef").unwrap();
        let seed = MacSeed::MachineId(id);
        assert_eq!(stable_mac(&seed, "mv0").to_string(), "ee:6b:e3:82:d6:f3");
        assert_eq!(
            stable_mac(&seed, "macvlan216").to_string(),
            "82:63:c6:ba:24:f4"
        );
        let parent = MacSeed::ParentMac(MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
        assert_eq!(stable_mac(&parent, "mv0").to_string(), "62:6e:a2:89:1d:21");
    }

    #[test]
    fn stable_mac_is_unicast_local_and_deterministic() {
        let seed =
            MacSeed::MachineId(parse_machine_id("0123456789abcdef0123456789abcdef").unwrap());
        let a = stable_mac(&seed, "mv0");
        assert_eq!(a, stable_mac(&seed, "mv0"));
        assert_ne!(a, stable_mac(&seed, "mv1"));
        assert!(!a.is_multicast());
        assert_eq!(a.0[0] & 0x02, 0x02);
    }

    #[test]
    fn mac_parsing() {
        assert_eq!(
            MacAddr::parse_unicast("02:00:00:00:00:10")
                .unwrap()
                .to_string(),
            "02:00:00:00:00:10"
        );
        assert_eq!(MacAddr::parse("02-AB-00-00-00-10").unwrap().0[1], 0xab);
        assert!(
            MacAddr::parse_unicast("00:00:00:00:00:00")
                .unwrap_err()
                .contains("all-zero")
        );
        assert!(
            MacAddr::parse_unicast("01:00:5e:00:00:01")
                .unwrap_err()
                .contains("multicast")
        );
        assert!(
            MacAddr::parse_unicast("ff:ff:ff:ff:ff:ff")
                .unwrap_err()
                .contains("multicast")
        );
        assert!(MacAddr::parse("02:00:00:00:00").is_err());
        assert!(MacAddr::parse("02:00:00:00:00:0g").is_err());
        assert!(MacAddr::parse("2:00:00:00:00:00").is_err());
    }

    #[test]
    fn machine_id_parsing() {
        assert!(parse_machine_id("0123456789abcdef0123456789abcdef\n").is_some());
        assert!(parse_machine_id("uninitialized\n").is_none());
        assert!(parse_machine_id("00000000000000000000000000000000").is_none());
    }
}
