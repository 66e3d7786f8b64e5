# Stand-in for the OpenWrt SDK's rules.mk, written for tests/boot/run: only
# what a package recipe's install step uses.  The INSTALL_* values are the
# SDK's own (modes matter: the test checks them).
INCLUDE_DIR:=$(TOPDIR)/include
BUILD_DIR:=$(TOPDIR)/build_dir
CP:=cp -fpR
LN:=ln -sf
INSTALL_BIN:=install -m0755
INSTALL_SUID:=install -m4755
INSTALL_DIR:=install -d -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
