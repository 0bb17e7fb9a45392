-- store-v1.sql - a lingerd database at schema version 1, frozen: test_store_schema opens
-- it and checks the current build migrates it (or, while 1 is current, leaves it unchanged).
-- The CREATE statements are the v1 migration step of db/store_schema.c; never edit them.
PRAGMA application_id = 1280198468;
PRAGMA user_version = 1;
BEGIN;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE snapshots (
  id INTEGER PRIMARY KEY,
  taken_at REAL NOT NULL,
  duration_ms REAL NOT NULL,
  source TEXT NOT NULL,
  partial INTEGER NOT NULL,
  total INTEGER NOT NULL,
  established INTEGER NOT NULL,
  syn_sent INTEGER NOT NULL,
  syn_recv INTEGER NOT NULL,
  fin_wait1 INTEGER NOT NULL,
  fin_wait2 INTEGER NOT NULL,
  time_wait INTEGER NOT NULL,
  close INTEGER NOT NULL,
  close_wait INTEGER NOT NULL,
  last_ack INTEGER NOT NULL,
  listen INTEGER NOT NULL,
  closing INTEGER NOT NULL);
CREATE INDEX snapshots_taken_at ON snapshots (taken_at);
CREATE TABLE sockets (
  id INTEGER PRIMARY KEY,
  netns INTEGER NOT NULL,
  key INTEGER NOT NULL,
  family INTEGER NOT NULL,
  state INTEGER NOT NULL,
  laddr BLOB NOT NULL,
  lport INTEGER NOT NULL,
  raddr BLOB NOT NULL,
  rport INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  first_seen REAL NOT NULL,
  state_since REAL NOT NULL,
  last_seen REAL);
CREATE INDEX sockets_open ON sockets (state, state_since) WHERE last_seen IS NULL;
CREATE INDEX sockets_last_seen ON sockets (last_seen) WHERE last_seen IS NOT NULL;

INSERT INTO meta VALUES ('boot_id', 'fixture-boot'), ('source', 'netlink');
INSERT INTO snapshots VALUES
  (1, 1700000000.0, 1.5, 'netlink', 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0),
  (2, 1700000005.0, 2.5, 'netlink', 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0);
-- key -2 is the u64 0xfffffffffffffffe, stored as its int64 bits.
INSERT INTO sockets VALUES
  (1, 4026531840, 11, 2, 10, X'7f000001', 8080, X'00000000', 0, 5001, 0,
   1700000000.0, 1700000000.0, NULL),
  (2, 4026531840, -2, 10, 8, X'00000000000000000000000000000001', 43210,
   X'00000000000000000000000000000001', 8080, 5002, 1000,
   1700000000.0, 1700000004.0, NULL),
  (3, 4026531840, 12, 2, 1, X'7f000001', 40000, X'7f000001', 8080, 5003, 1000,
   1699999990.0, 1699999990.0, 1700000005.0);
COMMIT;
