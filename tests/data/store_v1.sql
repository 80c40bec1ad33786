-- A version 1 workspace database, frozen: the first schema exactly as store_schema.c's
-- step 1 builds it, with rows of every table. test_store_open.c loads it and migrates it.
PRAGMA application_id = 1280065858;
PRAGMA user_version = 1;
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE models(
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER,
  metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  first_seen REAL NOT NULL,
  last_seen REAL NOT NULL);
INSERT INTO models VALUES(1,'270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d','/models/stories260K.gguf',1185376,1700000000000000000,'{"arch":"llama"}',1700000000.4999999999,1700000100.2499999999);
CREATE TABLE sessions(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  state TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
  created REAL NOT NULL,
  updated REAL NOT NULL);
INSERT INTO sessions VALUES(1,'first',1,'{"selected":3,"panes":["tree","logits"]}',1700000200.0,1700000300.0);
INSERT INTO sessions VALUES(2,'second',NULL,'{"selected":999}',1700000400.0,1700000400.0);
CREATE TABLE nodes(
  id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  parent_id INTEGER REFERENCES nodes(id),
  sampler TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sampler)),
  label TEXT,
  created REAL NOT NULL);
INSERT INTO nodes VALUES(1,1,NULL,'{"temp":0.8}','prompt',1700000210.0);
INSERT INTO nodes VALUES(2,1,1,'{"temp":0.8}',NULL,1700000220.0);
INSERT INTO nodes VALUES(3,1,2,'{"temp":1.5}','hot',1700000230.0);
INSERT INTO nodes VALUES(4,2,NULL,'{}',NULL,1700000410.0);
CREATE TABLE tokens(
  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
  i INTEGER NOT NULL,
  tok INTEGER NOT NULL,
  logprob REAL,
  topk TEXT CHECK (topk IS NULL OR json_valid(topk)),
  PRIMARY KEY (node_id, i)) WITHOUT ROWID;
INSERT INTO tokens VALUES(1,0,1,NULL,NULL);
INSERT INTO tokens VALUES(1,1,450,-2.5,'[[450,-2.5],[12,-3.25]]');
INSERT INTO tokens VALUES(1,2,3,-0.125,'[[3,-0.125]]');
INSERT INTO tokens VALUES(3,0,77,-1.0,'[[77,-1],[78,-1.5],[79,null]]');
INSERT INTO tokens VALUES(3,1,13,-0.75,'[]');
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  plugin TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
  seed INTEGER,
  model_sha256 TEXT,
  status TEXT NOT NULL,
  started REAL NOT NULL,
  ended REAL);
INSERT INTO runs VALUES(1,'entropy_scan','{"temps":[0.5,1]}',42,'270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d','ok',1700000500.0,1700000560.5);
INSERT INTO runs VALUES(2,'sweep','{}',NULL,NULL,'running',1700000600.0,NULL);
CREATE TABLE records(
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  data TEXT NOT NULL CHECK (json_valid(data)),
  created REAL NOT NULL);
INSERT INTO records VALUES(1,1,'sample','{"tok":450,"lp":-2.5}',1700000510.0);
INSERT INTO records VALUES(2,1,'sample','{"tok":3,"lp":-0.125}',1700000520.0);
INSERT INTO records VALUES(3,NULL,'note','"hello"',1700000530.0);
INSERT INTO records VALUES(4,2,'step','{"i":1}',1700000610.0);
CREATE INDEX nodes_session ON nodes(session_id);
CREATE INDEX records_run ON records(run_id, kind);
COMMIT;
