# Stand-in for feeds/packages/lang/rust/rust-package.mk (and rust-values.mk),
# written for tests/boot/run.  RUST_ARCH_DEPENDS and RustBinPackage behave as
# in the packages feed; nothing is compiled.
RUST_ARCH_DEPENDS:=@(aarch64||arm||i386||i686||mips||mipsel||mips64||mips64el||mipsel||powerpc64||riscv64||x86_64)
RUST_PKG_LOCKED ?= 1

define Build/Compile/Cargo
	@echo "stand-in SDK: cargo install --locked --root $(PKG_INSTALL_DIR) is not run"
endef

# Like the feed's: a default install step (binaries to /usr/bin) unless the
# package has its own.
define RustBinPackage
  ifndef Package/$(1)/install
    define Package/$(1)/install
	$$(INSTALL_DIR) $$(1)/usr/bin/
	$$(INSTALL_BIN) $$(PKG_INSTALL_DIR)/bin/* $$(1)/usr/bin/
    endef
  endif
endef

Build/Compile=$(call Build/Compile/Cargo)
