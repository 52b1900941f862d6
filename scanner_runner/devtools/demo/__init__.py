"""`deployscan demo`: the whole flow on one machine with embedded defaults.

`motoserver` (AWS emulator), `images` (sample images built in code), `stack` (the stack's
resources in the emulator), `events` (real-shaped deploy events), `run` (orchestration with the
real dispatcher and the local build executor) and `summary` (the closing table).
"""
