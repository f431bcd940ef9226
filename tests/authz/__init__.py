"""The authorization matrix: who may call which route (tests/test_authz_matrix.py).

- :mod:`.routes`: the application's operations, read from its route table.
- :mod:`.world`: the roles, the objects seeded for them and the client that calls as each.
- :mod:`.table`: the declared outcome of every operation for every role.
"""
