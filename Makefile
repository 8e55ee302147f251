# LedgerMQ developer entry points. Every target that needs dependencies installs them first
# (npm ci, re-run only when package-lock.json changes).
.PHONY: all install build lint test up certs sim fuzz bench bench-consume bench-longpoll bench-query bench-delay jepsen jepsen-deps clean

NODE_STAMP := node_modules/.ledgermq-installed
DATA_DIR ?= ./data
JEPSEN_TIME ?= 25
BASE_PORT ?= 9876
# TLS=strict or TLS=permissive: `make up` with TLS (certificates in $(DATA_DIR)/certs, made when missing).
TLS ?=

all: build

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

install: $(NODE_STAMP)

build: $(NODE_STAMP)
	npm run build

lint: build
	npm run lint

# The README's test command.
test: build
	npm test

# Randomized Raft simulation: SEEDS=N seeds (default 10,000), SEED=S replays one, NODES=3|5.
sim: build
	node dist/lib/raft/sim/run-seeds.js

# Fuzz suite, long run: FUZZ_SECONDS (300) of random and mutated v2, broker, name service and Raft
# requests against a 3-node group with damage rounds (FUZZ_DAMAGE_ROUNDS, 4), after FUZZ_CORE_SEEDS
# (20,000) Raft core seeds and FUZZ_RECOVERY_CASES (200) damaged CommitLogs. SEED=S replays a run;
# prints counts per service and status, findings; exits 1 on any finding.
fuzz: build
	node dist/test/fuzz/run-fuzz.js

# LedgerMQ (3-node group, official client via the Proxy) then NATS JetStream R3, same parameters.
# Env: BENCH_COUNT BENCH_LAT_COUNT BENCH_RUNS BENCH_SIZE BENCH_WINDOW BENCH_MAX_SECONDS BENCH_SKIP_NATS
bench: build
	node dist/lib/bench/run-bench.js

# Consumer throughput on a 100,000 x 512 B backlog, 3 runs (~7 min on 2 cores): our PushConsumer with
# and without follower reads vs the official SimpleConsumer through the Proxy; medians, ratios, JSON.
# Flags after BENCH_CONSUME_ARGS, e.g. BENCH_CONSUME_ARGS="--count 20000 --runs 1" (see --help).
bench-consume: build
	node dist/cmd/ledgermq.js bench consume-compare $(BENCH_CONSUME_ARGS)

# Long polling (~1 min): leader CPU idle vs 2,000 parked pulls, delivery latency to parked pulls and
# through the official receive path, PASS/FAIL vs the issue's targets (BENCH_LONGPOLL_ARGS=--strict
# makes a FAIL exit non-zero).
bench-longpoll: build
	node dist/cmd/ledgermq.js bench longpoll $(BENCH_LONGPOLL_ARGS)

# Query by key and by id among 1,000,000 stored messages (~3 min on 2 cores): leader vs follower
# median/p99/max, every answer checked; then kill -9 of a follower after a burst and every burst
# message queried on it once restarted. Flags after BENCH_QUERY_ARGS, e.g. BENCH_QUERY_ARGS="-n 20000".
bench-query: build
	node dist/cmd/ledgermq.js bench query $(BENCH_QUERY_ARGS)

# 100,000 delayed messages over 10 minutes (~13 min): lateness p50/p99/max, broker CPU while they wait
bench-delay: build
	node dist/cmd/ledgermq.js bench delay $(BENCH_DELAY_ARGS)

# Debian packages the fault harness uses when it can (root with apt-get): iptables for network
# namespaces (else loopback TCP proxies), faketime for clock jumps, chromium for the report check.
jepsen-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; for p in iptables faketime chromium; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get install -y --no-install-recommends $$missing || { apt-get update -qq && apt-get install -y --no-install-recommends $$missing; }; fi; \
	else echo "jepsen-deps: not root or no apt-get; the harness falls back to loopback proxies and skips clock jumps"; fi

# The fault-injection matrix: every nemesis with both workloads (JEPSEN_TIME seconds each, ~35 min
# in all), every report checked in headless Chromium. Exits non-zero on any invalid run.
jepsen: build jepsen-deps
	npx mocha --no-config --exit --timeout 120000 dist/jepsen-like-tests/report/html-report.browser-test.js
	node dist/jepsen-like-tests/cli.js matrix --time $(JEPSEN_TIME)

# The README's start command: a NameServer/Proxy and a broker group on 127.0.0.1, data in ./data.
up: build
	node dist/cmd/ledgermq.js up --dir $(DATA_DIR) --base-port $(BASE_PORT) $(if $(TLS),--tls $(TLS))

# A local CA and a node certificate for 127.0.0.1/localhost in $(DATA_DIR)/certs (kept if complete;
# CERTS_ARGS="--force --host node1.example --host 10.0.0.5" replaces them for other hosts).
certs: build
	node dist/cmd/ledgermq.js certs --dir $(DATA_DIR)/certs $(CERTS_ARGS)

clean:
	rm -rf dist lib/gen
