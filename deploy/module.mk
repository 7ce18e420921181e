# deploy/ — installation. Not a library in MODULES: no C sources.
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   build the three binaries, then install
#   make install-only                             install what $(B)/bin already holds,
#                                                 without building (packaging steps)
#   make uninstall                                remove what install laid down
#   make test-deploy                              tests/integration/test_0002_deploy.py
#
# Layout (PREFIX=/usr/local):
#   $(PREFIX)/bin/                  sluice-controller, sluice-broker, sluice
#   $(SYSTEMD_UNIT_DIR)             sluice-controller@.service, sluice-broker@.service,
#                                   sluice.target, sluice-controllers.target
#                                   (default $(PREFIX)/lib/systemd/system: systemd reads
#                                   /usr/local/lib/systemd/system and /usr/lib/systemd/system)
#   $(PREFIX)/share/sluice/         controller.properties, broker.properties (samples),
#                                   install.sh (user, directories, per-node configs)
#   $(PREFIX)/share/doc/sluice/     deploy.md
# The unit files in deploy/systemd name /usr/local paths; installing with another PREFIX
# rewrites them. Every path is prefixed with $(DESTDIR) for staged installs.
PREFIX           ?= /usr/local
DESTDIR          ?=
INSTALL          ?= install
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system

DEPLOY_BIN_NAMES := sluice-controller sluice-broker sluice
DEPLOY_BINS      := $(addprefix $(B)/bin/,$(DEPLOY_BIN_NAMES))
DEPLOY_UNITS     := $(sort $(wildcard deploy/systemd/*.service deploy/systemd/*.target))
DEPLOY_SHARE     := $(PREFIX)/share/sluice
DEPLOY_DOC       := $(PREFIX)/share/doc/sluice

# One recipe for install and install-only. Units are rewritten through a temporary file
# so a failed sed never leaves a truncated unit behind.
define deploy_install_recipe
	$(Q)for f in $(DEPLOY_BINS); do \
	    test -x "$$f" || { echo "install: $$f is missing: run make first" >&2; exit 1; }; \
	done
	$(Q)$(INSTALL) -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(SYSTEMD_UNIT_DIR)" \
	    "$(DESTDIR)$(DEPLOY_SHARE)" "$(DESTDIR)$(DEPLOY_DOC)"
	$(Q)$(INSTALL) -m 0755 $(DEPLOY_BINS) "$(DESTDIR)$(PREFIX)/bin/"
	$(Q)for f in $(DEPLOY_UNITS); do \
	    dst="$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$${f##*/}"; \
	    sed -e 's|/usr/local/|$(PREFIX)/|g' "$$f" >"$$dst.tmp" && \
	    chmod 0644 "$$dst.tmp" && mv -f "$$dst.tmp" "$$dst" || exit 1; \
	done
	$(Q)$(INSTALL) -m 0644 config/controller.properties config/broker.properties \
	    "$(DESTDIR)$(DEPLOY_SHARE)/"
	$(Q)$(INSTALL) -m 0755 deploy/install.sh "$(DESTDIR)$(DEPLOY_SHARE)/install.sh"
	$(Q)$(INSTALL) -m 0644 docs/deploy.md "$(DESTDIR)$(DEPLOY_DOC)/deploy.md"
	@echo "installed sluice into $(DESTDIR)$(PREFIX) (units in $(DESTDIR)$(SYSTEMD_UNIT_DIR))"
endef

.PHONY: install install-only uninstall test-deploy

install: $(DEPLOY_BINS)
	$(deploy_install_recipe)

install-only:
	$(deploy_install_recipe)

uninstall:
	$(Q)for f in $(foreach n,$(DEPLOY_BIN_NAMES),"$(DESTDIR)$(PREFIX)/bin/$(n)") \
	    $(foreach f,$(DEPLOY_UNITS),"$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$(notdir $(f))") \
	    "$(DESTDIR)$(DEPLOY_SHARE)/controller.properties" \
	    "$(DESTDIR)$(DEPLOY_SHARE)/broker.properties" "$(DESTDIR)$(DEPLOY_SHARE)/install.sh" \
	    "$(DESTDIR)$(DEPLOY_DOC)/deploy.md"; do rm -f "$$f"; done
	$(Q)rmdir "$(DESTDIR)$(DEPLOY_SHARE)" "$(DESTDIR)$(DEPLOY_DOC)" 2>/dev/null || true
	@echo "removed sluice from $(DESTDIR)$(PREFIX)"

# Unit checks, make install into temporary roots, the Docker and compose files. Waits for
# whichever of the three binaries the tree builds, so the checks that use real ones never
# see a half-linked file (the others use stand-ins).
test-deploy: $$(filter $(DEPLOY_BINS),$$(BINS))
	SLUICE_BUILD_DIR=$(B) $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration/test_0002_deploy.py

TEST_TARGETS += test-deploy
