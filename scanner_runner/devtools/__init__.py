"""The workshop: what never ships to a build (the runner bundle leaves this package out).

`localbuild` (the local CodeBuild executor), `demo` (`deployscan demo`), `imagebuild` (images
built in code) and `localregistry` (a real registry on loopback). Runtime modules never import it.
"""
