"""The fault suite's room: inject real faults into a throw-away home and a real ``redis-server``.

Each scenario returns an ``Outcome`` (``outcome``): the faults it injected, which were survived
(with the reason when not), events written and found afterwards, bad inputs tried and crashes.
``suite.run_suite`` runs them for ``recsys-tui check``; the tests call the same scenarios and
verify the results on their own (sqlite3 on the log, a separate Redis client).

- ``servers``: real redis-server processes on free loopback ports (shared with the tests);
- ``local_servers``: a throw-away PostgreSQL and Redis Cluster on loopback (tests, benchmarks);
- ``backends``: where a run keeps its log and store (SQLite + redis-server, or PostgreSQL + Cluster);
- ``tcp_proxy``: a real TCP proxy that trickles or drops Redis replies;
- ``workload``: throw-away homes, deterministic event streams, CLI runs;
- ``verify``: the store against the log through the engine, the SQLite log against itself;
- ``independent``: the second opinion: the log by its own driver, the store by its own client;
- ``worker``: the subprocesses the scenarios start and kill (``python -m recsys_tui.faults.worker``);
- ``scenarios_*``: one module per class of fault (Redis dies, Redis misbehaves, shared stores, our
  process, files, load and bad input, hostile text, training files);
- ``suite``: the plan that ``recsys-tui check`` runs, on one or both kinds of backends.

Never touches the user's own home. May import ``core``, ``training`` (to train a missing model),
``data`` and ``common``; nothing imports it but the CLI and the tests.
"""
