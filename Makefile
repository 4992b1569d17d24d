.PHONY: help install run test test-pg lint bench bench-import bench-streams

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: ## install visitorhub with the test tools (editable)
	pip install -e '.[test]'

run: ## run the service on the embedded default (SQLite file in the working directory)
	visitorhub serve

test: ## the test suite on SQLite
	python -m pytest

test-pg: ## the test suite on a local PostgreSQL (installed and started by .ci/postgres.sh)
	bash .ci/postgres.sh
	VISITORHUB_TEST_DATABASE_URL=postgresql+psycopg://vh:vh@127.0.0.1:5432/vh python -m pytest

lint: ## ruff and mypy
	ruff check . && ruff format --check . && mypy

bench: ## the API benchmark (1,000,000 visitors in SQLite)
	python bench/api_visitors.py

bench-import: ## the template import benchmark (1,000,000 rows from CSV into SQLite vs executemany)
	python bench/import.py

bench-streams: ## the streams benchmark (100,000 changes to a local receiver vs the receiver alone)
	python bench/streams.py
