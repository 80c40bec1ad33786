/* store_schema: the workspace schema as an ordered list of migration steps.
 * Step N turns a version N-1 database into version N; PRAGMA user_version
 * holds the version. A new database runs every step from 1.
 *
 * Invariants: a step, once released, never changes (databases in the field
 * were built by it; tests/data/store_v1.sql freezes version 1); a migration
 * runs all its steps in one transaction together with the user_version
 * update and a foreign key check, so a crash leaves the old version intact;
 * an existing database is copied to logitlab.db.bak-vN first.
 * docs/workspaces.md describes every table and column of the newest version.
 */
#include "store_impl.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Version 1: the first schema. */
static const char V1[] =
    "PRAGMA application_id = 1280065858;\n"   /* STORE_APP_ID, "LLAB" */
    "CREATE TABLE models(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  sha256 TEXT NOT NULL UNIQUE,\n"
    "  path TEXT NOT NULL,\n"
    "  size INTEGER NOT NULL,\n"
    "  mtime_ns INTEGER,\n"
    "  metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),\n"
    "  first_seen REAL NOT NULL,\n"
    "  last_seen REAL NOT NULL);\n"
    "CREATE TABLE sessions(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL,\n"
    "  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,\n"
    "  state TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),\n"
    "  created REAL NOT NULL,\n"
    "  updated REAL NOT NULL);\n"
    "CREATE TABLE nodes(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,\n"
    "  parent_id INTEGER REFERENCES nodes(id),\n"
    "  sampler TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sampler)),\n"
    "  label TEXT,\n"
    "  created REAL NOT NULL);\n"
    "CREATE INDEX nodes_session ON nodes(session_id);\n"
    "CREATE TABLE tokens(\n"
    "  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,\n"
    "  i INTEGER NOT NULL,\n"
    "  tok INTEGER NOT NULL,\n"
    "  logprob REAL,\n"
    "  topk TEXT CHECK (topk IS NULL OR json_valid(topk)),\n"
    "  PRIMARY KEY (node_id, i)) WITHOUT ROWID;\n"
    "CREATE TABLE runs(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  plugin TEXT NOT NULL,\n"
    "  params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),\n"
    "  seed INTEGER,\n"
    "  model_sha256 TEXT,\n"
    "  status TEXT NOT NULL,\n"
    "  started REAL NOT NULL,\n"
    "  ended REAL);\n"
    "CREATE TABLE records(\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  kind TEXT NOT NULL,\n"
    "  data TEXT NOT NULL CHECK (json_valid(data)),\n"
    "  created REAL NOT NULL);\n"
    "CREATE INDEX records_run ON records(run_id, kind);\n";

/* Version 2: the selected node becomes a column of sessions (it was
 * state.selected) and state becomes ui; nodes get `updated` and tokens their
 * acceptance time; a run may use several models (run_models replaces
 * runs.model_sha256) and knows its session and error; metrics arrive. */
static const char V2[] =
    "ALTER TABLE sessions ADD COLUMN selected_node INTEGER REFERENCES nodes(id) ON DELETE SET NULL;\n"
    "UPDATE sessions SET selected_node = (SELECT n.id FROM nodes n\n"
    "    WHERE n.id = json_extract(sessions.state, '$.selected') AND n.session_id = sessions.id),\n"
    "  state = json_remove(state, '$.selected');\n"
    "ALTER TABLE sessions RENAME COLUMN state TO ui;\n"
    "ALTER TABLE nodes ADD COLUMN updated REAL;\n"
    "UPDATE nodes SET updated = created;\n"
    "CREATE INDEX nodes_parent ON nodes(parent_id);\n"
    "ALTER TABLE tokens ADD COLUMN t REAL;\n"
    "UPDATE tokens SET t = (SELECT created FROM nodes WHERE nodes.id = tokens.node_id);\n"
    "CREATE TABLE run_models(\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL,\n"
    "  sha256 TEXT NOT NULL,\n"
    "  PRIMARY KEY (run_id, pos)) WITHOUT ROWID;\n"
    "INSERT INTO run_models(run_id, pos, sha256)\n"
    "  SELECT id, 0, model_sha256 FROM runs WHERE model_sha256 IS NOT NULL;\n"
    "ALTER TABLE runs DROP COLUMN model_sha256;\n"
    "ALTER TABLE runs ADD COLUMN session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL;\n"
    "ALTER TABLE runs ADD COLUMN error TEXT;\n"
    "CREATE TABLE metrics(\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  step INTEGER NOT NULL,\n"
    "  value REAL,\n"
    "  created REAL NOT NULL,\n"
    "  PRIMARY KEY (run_id, name, step)) WITHOUT ROWID;\n";

/* steps[v] builds version v from version v - 1. */
static const char *const steps[] = { NULL, V1, V2 };
_Static_assert(sizeof steps / sizeof steps[0] == STORE_SCHEMA_VERSION + 1, "one step per schema version");

/* A copy of the database as it was, before a migration touches it. */
static int backup(store *s, int from, char *err, size_t errlen) {
    char path[4096];
    int k = snprintf(path, sizeof path, "%s.bak-v%d", s->dbpath, from);
    if (k < 0 || (size_t)k >= sizeof path) return store_fail(s, STORE_EINVAL, err, errlen, "path too long");
    unlink(path);   /* VACUUM INTO wants a new file; an older copy of the same version is superseded */
    sqlite3_stmt *st = store_stmt(s, -1, "VACUUM INTO ?1", err, errlen);
    if (!st) return store_dberr(s, sqlite3_errcode(s->db), "backing up before the upgrade", err, errlen);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    int rc = store_step_done(s, st, "backing up before the upgrade", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

static int foreign_keys_ok(store *s, char *err, size_t errlen) {
    sqlite3_stmt *st = store_stmt(s, -1, "PRAGMA foreign_key_check", err, errlen);
    if (!st) return store_dberr(s, sqlite3_errcode(s->db), "checking references", err, errlen);
    int rc = sqlite3_step(st), out = STORE_OK;
    if (rc == SQLITE_ROW)
        out = store_fail(s, STORE_ECORRUPT, err, errlen, "upgrade stopped: table %s has a row (rowid %lld) "
                         "referring to a missing row of %s; the database was left as it was",
                         (const char *)sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1),
                         (const char *)sqlite3_column_text(st, 2));
    else if (rc != SQLITE_DONE)
        out = store_dberr(s, rc, "checking references", err, errlen);
    sqlite3_finalize(st);
    return out;
}

int store_migrate(store *s, int from, int to, char *err, size_t errlen) {
    if (from >= to) return STORE_OK;
    int rc = from > 0 ? backup(s, from, err, errlen) : STORE_OK;
    if (rc) return rc;
    /* foreign_keys is still off here (store.c turns it on afterwards), as
     * SQLite asks for schema changes; the check below replaces it. */
    if ((rc = store_exec(s, "BEGIN IMMEDIATE", "starting the upgrade", err, errlen))) return rc;
    char what[64];
    for (int v = from + 1; v <= to && !rc; v++) {
        snprintf(what, sizeof what, "upgrading to schema version %d", v);
        rc = store_exec(s, steps[v], what, err, errlen);
    }
    if (!rc) {
        snprintf(what, sizeof what, "PRAGMA user_version = %d", to);
        rc = store_exec(s, what, "recording the schema version", err, errlen);
    }
    if (!rc) rc = foreign_keys_ok(s, err, errlen);
    if (!rc) rc = store_exec(s, "COMMIT", "finishing the upgrade", err, errlen);
    if (rc && !sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
