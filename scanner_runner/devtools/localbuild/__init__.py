"""A local stand-in for AWS CodeBuild that runs `buildspecs/scan.yml` the way CodeBuild does.

`buildspec` parses and checks the file, `shell` is the one shell a build's commands share,
`secrets` resolves `secrets-manager`/`parameter-store` values, `reports` collects report files,
`executor` runs the phases, and `launcher.LocalBuildLauncher` is the dispatcher's `Launcher` seam.
"""
