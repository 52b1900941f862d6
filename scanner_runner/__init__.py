"""deployscan runner: pull an image, scan it with QScanner or syft, write and publish reports."""
