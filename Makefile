# Two entry points, both self-installing on a fresh Debian 12 machine (as root).
PORT ?= 8080
export PORT

.PHONY: setup demo serve test unit bench lint clean
setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/shopcall demo --port $(PORT) --data-dir data/demo

serve: setup
	.venv/bin/shopcall serve --port $(PORT)

test: setup
	.venv/bin/pytest -q

unit: setup
	.venv/bin/pytest -q -m "not e2e"

bench: setup
	.venv/bin/python bench/call_setup.py --calls 10 --json bench/results/call_setup.json
	.venv/bin/python bench/latency.py --json bench/results/latency.json
	.venv/bin/python bench/latency_rtt.py --json bench/results/latency_rtt.json
	.venv/bin/python bench/reconnect.py --json bench/results/reconnect.json

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports

clean:
	rm -rf data .pytest_cache test-artifacts
