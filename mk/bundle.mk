# The runner bundle's pinned, offline install (docs/deploy.md, "The runner bundle").
#   make lock             regenerate requirements/*.lock (every file's sha256) with the pinned uv
#   make wheelhouse       download the locked wheels for this machine (tests, demo), once
#   make wheelhouse-all   ... for every build platform (x86_64/aarch64 x CPython 3.11-3.13)
#   make bundle           both artifacts under build/package, offline from the cache (no upload)
# The cache is $DEPLOYSCAN_WHEELHOUSE (default ~/.cache/deployscan/wheelhouse), keyed by the
# locks' content, so a changed lock downloads again and an unchanged one never does.
.PHONY: lock wheelhouse wheelhouse-all bundle

LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-config --quiet \
	--custom-compile-command "make lock"

lock: venv ## regenerate requirements/*.lock with hashes (uv pip compile, pinned in pyproject)
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements/runner.lock
	$(BIN)/uv pip compile requirements/syft.in $(LOCK_FLAGS) -o requirements/syft.lock
	$(BIN)/uv pip compile requirements/uv.in $(LOCK_FLAGS) -o requirements/uv.lock

wheelhouse: venv ## download the locked wheels for this machine into the cache (once per lock)
	@$(BIN)/python scripts/wheelhouse.py --targets host >/dev/null

wheelhouse-all: venv ## ... for every build platform (make package does this itself)
	@$(BIN)/python scripts/wheelhouse.py --targets all >/dev/null

bundle: wheelhouse-all ## build both artifacts under build/package from the cache, no upload
	@$(BIN)/python scripts/package.py
