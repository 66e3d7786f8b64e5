# Stand-in for the OpenWrt SDK's include/package.mk, written for
# tests/boot/run.  BuildPackage builds nothing; it evaluates the recipe the
# way the SDK does and provides these targets:
#   stub-prepare  the download decision and Build/Prepare, as below
#   stub-compile  Build/Compile (the stand-in rust-package.mk's)
#   stub-install  runs Package/<name>/install into $(STUB_DEST)
#   stub-info     writes the recipe's metadata into $(STUB_OUT)/
# As in the real include/package.mk (openwrt/openwrt): USE_SOURCE_DIR (or
# USE_GIT_TREE, USE_GIT_SRC_CHECKOUT) sets PKG_SKIP_DOWNLOAD, and the
# download happens only without it and with a PKG_SOURCE_URL; with
# USE_SOURCE_DIR, Build/Prepare/Default links PKG_BUILD_DIR to that directory
# and touches .source_dir in it.  The stand-in never downloads: it fails
# where the real one would start to.
PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install
PKG_SKIP_DOWNLOAD=$(USE_SOURCE_DIR)$(USE_GIT_TREE)$(USE_GIT_SRC_CHECKOUT)

ifdef USE_SOURCE_DIR
  define Build/Prepare/Default
	rm -rf $(PKG_BUILD_DIR)
	$(if $(wildcard $(USE_SOURCE_DIR)/*),,@echo "Error: USE_SOURCE_DIR=$(USE_SOURCE_DIR) path not found"; false)
	ln -snf $(USE_SOURCE_DIR) $(PKG_BUILD_DIR)
	touch $(PKG_BUILD_DIR)/.source_dir
  endef
else
  define Build/Prepare/Default
	rm -rf $(PKG_BUILD_DIR)
	mkdir -p $(PKG_BUILD_DIR)
	$(if $(PKG_SOURCE),tar -C $(PKG_BUILD_DIR) --strip-components=1 -xf $(DL_DIR)/$(PKG_SOURCE))
  endef
endif

define Build/Prepare
  $(call Build/Prepare/Default,)
endef

define Package/Default
  SECTION:=
  CATEGORY:=
  TITLE:=
  URL:=
  DEPENDS:=
endef

define BuildPackage
  $(eval $(Package/Default))
  $(eval $(Package/$(1)))

.PHONY: stub-prepare stub-compile stub-install stub-info
stub-prepare:
	$(if $(PKG_SKIP_DOWNLOAD),,$(if $(strip $(PKG_SOURCE_URL)),@echo "stand-in SDK: would download $(PKG_SOURCE) from $(PKG_SOURCE_URL)" >&2; false))
	@mkdir -p $$(BUILD_DIR)
	$$(Build/Prepare)

stub-compile:
	$$(Build/Compile)

stub-install:
	@test -n "$$(STUB_DEST)" || { echo "STUB_DEST is not set" >&2; exit 1; }
	rm -rf "$$(STUB_DEST)"
	mkdir -p "$$(STUB_DEST)"
	$$(call Package/$(1)/install,$$(STUB_DEST))

stub-info:
	@test -n "$$(STUB_OUT)" || { echo "STUB_OUT is not set" >&2; exit 1; }
	@: $$(shell mkdir -p "$$(STUB_OUT)")
	$$(file >$$(STUB_OUT)/conffiles,$$(Package/$(1)/conffiles))
	$$(file >$$(STUB_OUT)/vars,$$(foreach v,PKG_NAME PKG_VERSION PKG_RELEASE PKG_SOURCE PKG_SOURCE_URL PKG_HASH PKG_MAINTAINER PKG_LICENSE PKG_LICENSE_FILES PKG_BUILD_DEPENDS PKG_BUILD_PARALLEL SECTION CATEGORY TITLE URL DEPENDS,$$(v)=$$(strip $$($$(v)))$$(newline)))
	$$(file >$$(STUB_OUT)/description,$$(Package/$(1)/description))
	@echo "BuildPackage $(1): metadata in $$(STUB_OUT)"
endef

define newline


endef
