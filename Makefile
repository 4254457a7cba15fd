# hubops.eks — developer entry points. `make local` and `make test` are the two commands of the README.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PORT ?= $(or $(HUBOPS_EMULATOR_PORT),4566)
ENDPOINT := http://127.0.0.1:$(PORT)
RUN := PATH=$(BIN):$$PATH ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg
PLAYBOOK := $(RUN) $(BIN)/ansible-playbook
BUNDLE := $(VENV)/lib/python3.11/site-packages/ansible_collections
COLL := collections/ansible_collections
SANITY_ROOT := build/sanity/ansible_collections

.PHONY: deps local local-teardown local-stop local-status test lint sanity unit integration molecule test-examples bench clean help

help:
	@echo "make local           deps + emulated AWS + site.yml against inventories/local + summary"
	@echo "make local-teardown  teardown.yml against inventories/local, then the orphan sweep"
	@echo "make local-stop      stop the emulated AWS (its state is lost)"
	@echo "make test            lint + ansible-test sanity + unit + integration + molecule"
	@echo "make bench           first run / re-run / teardown timings and AWS call counts"
	@echo "make test-examples   the full lifecycle of every inventories/examples inventory (make test runs dandi's)"

## deps: venv with everything pinned, collections linked, helm + kubectl in .venv/bin
deps: $(VENV)/.deps-stamp $(COLL)/hubops/eks $(VENV)/bin/helm

$(VENV)/.deps-stamp: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip wheel
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

# The pip `ansible` bundle already satisfies requirements.yml (galaxy would install nothing offline), so the
# bundled copies are linked beside our self-link; ansible-test needs the same tree.
$(COLL)/hubops/eks: $(VENV)/.deps-stamp
	mkdir -p $(COLL)/hubops
	for ns in amazon community kubernetes ansible; do ln -sfn $(CURDIR)/$(BUNDLE)/$$ns $(COLL)/$$ns; done
	ln -sfn ../../.. $(COLL)/hubops/eks
	$(RUN) $(BIN)/ansible-galaxy collection install -r requirements.yml --offline >/dev/null

$(VENV)/bin/helm: $(VENV)/.deps-stamp
	$(BIN)/python scripts/install_kube_tools.py --bindir $(BIN)

## local: the embedded default, on the emulated AWS (kept running between runs)
local: deps
	$(BIN)/python tests/emulation/launcher.py start --port $(PORT)
	$(PLAYBOOK) site.yml -i inventories/local -e hubops_aws_endpoint_url=$(ENDPOINT)

local-teardown: deps
	$(BIN)/python tests/emulation/launcher.py start --port $(PORT)
	$(PLAYBOOK) teardown.yml -i inventories/local -e hubops_aws_endpoint_url=$(ENDPOINT) -e hubops_teardown_confirm=local

local-stop:
	$(BIN)/python tests/emulation/launcher.py stop

local-status:
	$(BIN)/python tests/emulation/launcher.py status --port $(PORT)

## test: everything CI runs
test: lint sanity unit integration molecule

lint: deps
	$(RUN) $(BIN)/yamllint -s .
	$(RUN) $(BIN)/ansible-lint --profile production

# ansible-test wants the collection at ansible_collections/hubops/eks with its dependencies beside it, and a pip
# bootstrap script it would otherwise download from a host we cannot reach.
sanity: deps
	rm -rf $(SANITY_ROOT)/hubops && mkdir -p $(SANITY_ROOT)/hubops/eks build/sanity-home/.ansible/test/cache
	git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents {} $(SANITY_ROOT)/hubops/eks/
	for ns in amazon community kubernetes ansible; do ln -sfn $(CURDIR)/$(BUNDLE)/$$ns $(SANITY_ROOT)/$$ns; done
	cp scripts/get_pip_offline.py build/sanity-home/.ansible/test/cache/get_pip_24_2.py
	if [ -f $$HOME/.config/pip/pip.conf ]; then mkdir -p build/sanity-home/.config/pip && cp $$HOME/.config/pip/pip.conf build/sanity-home/.config/pip/; fi
	cd $(SANITY_ROOT)/hubops/eks && git init -q && git add -A && \
	  HOME=$(CURDIR)/build/sanity-home $(RUN) $(BIN)/ansible-test sanity --venv --python 3.11 \
	    --skip-test pslint --skip-test shellcheck --color no

unit: deps
	$(RUN) $(BIN)/python -m pytest tests/unit -q

# Three workers on the 2-core machine: a test alone keeps less than one core busy (it mostly waits on the emulator,
# the kit and helm). Tests are handed out one at a time, longest first (tests/integration/conftest.py), so the workers
# end together; a module-scoped fixture is made once per worker that needs it. Each emulator has its own kubeconfig.
integration: deps
	$(RUN) $(BIN)/python -m pytest tests/integration -q -p no:cacheprovider -n $(or $(HUBOPS_TEST_WORKERS),3) --dist load --maxschedchunk 1 --durations=40

molecule: deps
	$(RUN) $(BIN)/molecule test

## test-examples: every example inventory through site.yml, a no-op re-run and both teardowns on the emulation
## (tests/integration/test_examples.py; `make integration` runs only dandi's). HUBOPS_EXAMPLES=a,b picks some.
test-examples: deps
	HUBOPS_EXAMPLES=$${HUBOPS_EXAMPLES:-all} $(RUN) $(BIN)/python -m pytest tests/integration/test_examples.py -q -s -p no:cacheprovider

## bench: re-runnable measurement of the lifecycle on a fresh emulator (see docs/performance.md)
bench: deps
	$(RUN) $(BIN)/python tests/bench.py

clean:
	rm -rf build collections/ansible_collections .emulator tests/output
