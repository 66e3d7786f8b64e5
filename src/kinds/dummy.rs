//! dummy links: no parent, no settings. Useful as a stable anchor for addresses, and as a
//! parent for macvlans on a box with no NIC to spare (Docker's examples do the same).

use std::any::Any;

use super::{Difference, KindSettings, LinkKind, MacChoice};
use crate::config::section::SectionReader;
use crate::netlink::NetlinkError;

pub struct Dummy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DummySettings;

impl LinkKind for Dummy {
    fn name(&self) -> &'static str {
        "dummy"
    }

    fn module(&self) -> &'static str {
        "dummy"
    }

    fn openwrt_package(&self) -> Option<&'static str> {
        Some("kmod-dummy")
    }

    fn takes_parent(&self) -> bool {
        false
    }

    fn default_mac(&self) -> Option<MacChoice> {
        Some(MacChoice::Stable)
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn parse(
        &self,
        _r: &mut SectionReader,
        _parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>> {
        Some(Box::new(DummySettings))
    }

    fn decode(&self, _info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError> {
        Ok(Box::new(DummySettings))
    }
}

impl KindSettings for DummySettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn create_data(&self) -> Result<Option<Vec<u8>>, NetlinkError> {
        Ok(None)
    }

    fn change_data(&self, _live: &dyn KindSettings) -> Result<Option<Vec<u8>>, NetlinkError> {
        Ok(None)
    }

    fn compare(&self, _live: &dyn KindSettings) -> Vec<Difference> {
        Vec::new()
    }

    fn summary(&self) -> String {
        String::new()
    }
}
