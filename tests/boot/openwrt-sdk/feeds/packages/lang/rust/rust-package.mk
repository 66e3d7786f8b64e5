# Stand-in for the packages feed's lang/rust/rust-package.mk and
# rust-values.mk (openwrt/packages), written for tests/boot/run.
# RUST_ARCH_DEPENDS, RustBinPackage and the cargo command line are the
# feed's; the cargo profile variables are rust-values.mk's
# CARGO_PKG_CONFIG_VARS.  Build/Compile runs cargo only with STUB_CARGO=1,
# for the host (no CARGO_BUILD_TARGET, no target linker, no
# -Ctarget-feature=-crt-static).
RUST_ARCH_DEPENDS:=@(aarch64||arm||i386||loongarch64||mips||mips64||mips64el||mipsel||powerpc||powerpc64||riscv64||x86_64)
RUST_PKG_LOCKED ?= 1

CARGO_PKG_PROFILE:=release
CARGO_PKG_CONFIG_VARS= \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
	CARGO_PROFILE_RELEASE_DEBUG=false \
	CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=false \
	CARGO_PROFILE_RELEASE_LTO=true \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
	CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true \
	CARGO_PROFILE_RELEASE_PANIC=unwind \
	CARGO_PROFILE_RELEASE_RPATH=false

CARGO_PKG_ARGS=
ifeq ($(strip $(RUST_PKG_LOCKED)),1)
  CARGO_PKG_ARGS+= --locked
endif

define Build/Compile/Cargo
	$(if $(filter 1,$(STUB_CARGO)), \
	$(CARGO_PKG_CONFIG_VARS) \
	cargo install -v \
		--profile $(CARGO_PKG_PROFILE) \
		--root $(PKG_INSTALL_DIR) \
		--path "$(PKG_BUILD_DIR)/$(if $(strip $(1)),$(strip $(1)),$(strip $(MAKE_PATH)))" \
		$(CARGO_PKG_ARGS) \
		$(2), \
	@echo "stand-in SDK: cargo install $(CARGO_PKG_ARGS) --root $(PKG_INSTALL_DIR) is not run (STUB_CARGO=1 runs it)")
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
