//! Route-netlink attributes: a writer for building nested attribute trees on neli's `Rtattr`,
//! and a walker that reads attributes in place over the receive buffer (no allocation per
//! attribute), with a few checked readers for payloads. Attribute types are always enums
//! (neli's `Ifla`, `IflaInfo`, `IflaVlan`, or the kinds' own), never bare numbers; a type an
//! enum does not know is its `UnrecognizedConst` case and is skipped, not misread.

use std::io::Cursor;

use neli::{
    consts::rtnl::RtaType,
    rtnl::RtattrBuilder,
    types::{Buffer, RtBuffer},
};

use super::NetlinkError;

/// A list of attributes of type `T` being built.
pub struct AttrWriter<T: RtaType>(RtBuffer<T, Buffer>);

impl<T: RtaType> Default for AttrWriter<T> {
    fn default() -> Self {
        AttrWriter(RtBuffer::new())
    }
}

impl<T: RtaType> AttrWriter<T> {
    pub fn bytes(&mut self, kind: T, payload: &[u8]) -> Result<(), NetlinkError> {
        let attr = RtattrBuilder::default()
            .rta_type(kind)
            .rta_payload(Buffer::from(payload))
            .build()
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        self.0.push(attr);
        Ok(())
    }

    pub fn u16(&mut self, kind: T, value: u16) -> Result<(), NetlinkError> {
        self.bytes(kind, &value.to_ne_bytes())
    }

    pub fn u32(&mut self, kind: T, value: u32) -> Result<(), NetlinkError> {
        self.bytes(kind, &value.to_ne_bytes())
    }

    /// A 16-bit value the kernel keeps in network byte order (`__be16`), such as a VLAN protocol.
    pub fn be16(&mut self, kind: T, value: u16) -> Result<(), NetlinkError> {
        self.bytes(kind, &value.to_be_bytes())
    }

    /// A NUL-terminated string, as the kernel's `NLA_STRING` policies expect.
    pub fn string(&mut self, kind: T, value: &str) -> Result<(), NetlinkError> {
        self.cstr(kind, value.as_bytes())
    }

    /// Bytes with a NUL after them (an interface name, which is bytes to the kernel).
    pub fn cstr(&mut self, kind: T, value: &[u8]) -> Result<(), NetlinkError> {
        let mut payload = Vec::with_capacity(value.len() + 1);
        payload.extend_from_slice(value);
        payload.push(0);
        self.bytes(kind, &payload)
    }

    pub fn nested<U: RtaType>(
        &mut self,
        kind: T,
        inner: AttrWriter<U>,
    ) -> Result<(), NetlinkError> {
        let attr = RtattrBuilder::default()
            .rta_type(kind)
            .rta_payload(inner.0)
            .build()
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        self.0.push(attr);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_buffer(self) -> RtBuffer<T, Buffer> {
        self.0
    }
}

/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`: flag bits on top of an attribute's type.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// One attribute, borrowed from the message it came in: its type (flags masked off) and payload.
#[derive(Debug, Clone, Copy)]
pub struct Attr<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

impl Attr<'_> {
    /// The attribute's type as one of the typed enums (neli's `Ifla`, a kind's own, ...). Types
    /// the enum does not know come out as its `UnrecognizedConst` case.
    pub fn kind_as<T: From<u16>>(&self) -> T {
        T::from(self.kind)
    }
}

/// Walk a run of attributes in place, without copying or allocating. Malformed input ends the
/// walk with an error, never a panic.
pub fn attrs(bytes: &[u8]) -> Attrs<'_> {
    Attrs { rest: bytes }
}

pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, NetlinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            // Fewer bytes than a header: padding at the end, or nothing.
            return None;
        }
        let len = u16::from_ne_bytes([self.rest[0], self.rest[1]]) as usize;
        let kind = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.rest.len() {
            self.rest = &[];
            return Some(Err(NetlinkError::Decode(format!(
                "an attribute of length {len} does not fit its message"
            ))));
        }
        let payload = &self.rest[4..len];
        let aligned = (len + 3) & !3;
        self.rest = self.rest.get(aligned..).unwrap_or(&[]);
        Some(Ok(Attr { kind, payload }))
    }
}

pub fn read_u8(bytes: &[u8]) -> Result<u8, NetlinkError> {
    Ok(u8::from_ne_bytes(fixed(bytes, "u8")?))
}

pub fn read_u16(bytes: &[u8]) -> Result<u16, NetlinkError> {
    Ok(u16::from_ne_bytes(fixed(bytes, "u16")?))
}

pub fn read_be16(bytes: &[u8]) -> Result<u16, NetlinkError> {
    Ok(u16::from_be_bytes(fixed(bytes, "be16")?))
}

pub fn read_u32(bytes: &[u8]) -> Result<u32, NetlinkError> {
    Ok(u32::from_ne_bytes(fixed(bytes, "u32")?))
}

pub fn read_i32(bytes: &[u8]) -> Result<i32, NetlinkError> {
    Ok(i32::from_ne_bytes(fixed(bytes, "i32")?))
}

pub fn read_u64(bytes: &[u8]) -> Result<u64, NetlinkError> {
    Ok(u64::from_ne_bytes(fixed(bytes, "u64")?))
}

/// The bytes of a NUL-terminated string, without the NUL. Interface names are bytes to the
/// kernel: any byte but `/`, `:`, white space and NUL.
pub fn read_cstr(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// A NUL-terminated string that must be UTF-8 (kind names, extended-ACK text).
pub fn read_string(bytes: &[u8]) -> Result<&str, NetlinkError> {
    std::str::from_utf8(read_cstr(bytes))
        .map_err(|_| NetlinkError::Decode("string attribute is not UTF-8".into()))
}

fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], NetlinkError> {
    bytes
        .get(..N)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| NetlinkError::Decode(format!("attribute too short for a {what}")))
}

impl<T: RtaType> AttrWriter<T> {
    /// The attributes serialised back to back, ready to be the payload of a nesting attribute
    /// whose type lives in another enum (a kind's `IFLA_INFO_DATA`).
    pub fn into_bytes(self) -> Result<Vec<u8>, NetlinkError> {
        use neli::ToBytes;
        let mut out = Cursor::new(Vec::new());
        self.0
            .to_bytes(&mut out)
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        Ok(out.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_attributes_in_place_and_stops_at_lies() {
        // type 1 "ab" (len 6, padded to 8), then type 0x8002 (nested flag) with 4 bytes.
        let bytes = [6, 0, 1, 0, b'a', b'b', 0, 0, 8, 0, 2, 0x80, 1, 2, 3, 4];
        let all: Vec<_> = attrs(&bytes).map(|a| a.unwrap()).collect();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].kind, all[0].payload), (1, &b"ab"[..]));
        assert_eq!((all[1].kind, all[1].payload), (2, &[1, 2, 3, 4][..]));
        // A length past the end is an error, then the walk ends.
        let mut walk = attrs(&[40, 0, 1, 0, 0, 0]);
        assert!(walk.next().unwrap().is_err());
        assert!(walk.next().is_none());
        assert!(attrs(&[3, 0, 1, 0]).next().unwrap().is_err());
        assert!(attrs(&[1, 2]).next().is_none());
    }
}
