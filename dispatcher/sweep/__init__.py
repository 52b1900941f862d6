"""The sweep: what runs now, per account-region, kept in the in-use index and re-scanned.

`units` fans a sweep out (one message per account-region), `inventory` lists one unit's running
ECS tasks, Lambda image functions and zip functions with their layers, `plan` decides per
digest or code hash (build or skip, and why),
`core` runs one unit end to end, `status` and `posture` read the index back for people.
"""
