"""The online engine: event log, feature store, vector index, artifacts and the engine facade."""
