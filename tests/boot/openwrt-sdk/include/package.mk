# Stand-in for the OpenWrt SDK's include/package.mk, written for
# tests/boot/run.  BuildPackage does not build anything; it evaluates the
# recipe the way the SDK does and provides two targets:
#   stub-install  runs Package/<name>/install into $(STUB_DEST)
#   stub-info     writes the recipe's metadata into $(STUB_OUT)/
PKG_BUILD_DIR ?= $(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR ?= $(PKG_BUILD_DIR)/ipkg-install

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

.PHONY: stub-install stub-info
stub-install:
	@test -n "$$(STUB_DEST)" || { echo "STUB_DEST is not set" >&2; exit 1; }
	rm -rf "$$(STUB_DEST)"
	mkdir -p "$$(STUB_DEST)"
	$$(call Package/$(1)/install,$$(STUB_DEST))

stub-info:
	@test -n "$$(STUB_OUT)" || { echo "STUB_OUT is not set" >&2; exit 1; }
	@: $$(shell mkdir -p "$$(STUB_OUT)")
	$$(file >$$(STUB_OUT)/conffiles,$$(Package/$(1)/conffiles))
	$$(file >$$(STUB_OUT)/vars,$$(foreach v,PKG_NAME PKG_VERSION PKG_RELEASE PKG_SOURCE PKG_SOURCE_URL PKG_HASH PKG_LICENSE PKG_BUILD_DEPENDS PKG_BUILD_PARALLEL SECTION CATEGORY TITLE DEPENDS,$$(v)=$$(strip $$($$(v)))$$(newline)))
	$$(file >$$(STUB_OUT)/description,$$(Package/$(1)/description))
	@echo "BuildPackage $(1): metadata in $$(STUB_OUT)"
endef

define newline


endef
