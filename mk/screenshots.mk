# Screenshots of the HTML report (passed, failed, error, inventory-only) with headless Chromium.
.PHONY: screenshots

screenshots: venv sysdeps ## render the HTML report's four states to docs/screenshots/*.png
	$(BIN)/python -m scanner_runner.devtools.screenshots docs/screenshots
