# Demo variants (deployscan demo). `make demo` itself is in the Makefile.
.PHONY: demo-quick demo-clone-check

demo-quick: venv sysdeps wheelhouse ## the demo with one image and its redelivered event (~5 s)
	$(BIN)/deployscan demo --quick

demo-clone-check: venv sysdeps wheelhouse ## the quick demo from a fresh clone of HEAD: needs only committed files
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git clone --quiet "$(CURDIR)" "$$tmp/deployscan" && cd "$$tmp/deployscan" && \
	PYTHONPATH="$$tmp/deployscan" "$(CURDIR)/$(BIN)/python" -c \
	  'import scanner_runner, sys; assert scanner_runner.__file__.startswith(sys.argv[1]), scanner_runner.__file__; from scanner_runner.cli import main; main(sys.argv[2:])' \
	  "$$tmp/deployscan/" demo --quick --workdir "$$tmp/demo"
