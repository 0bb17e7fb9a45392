-- store-v4.sql - a lingerd database at schema version 4, frozen: test_store_schema opens
-- it and checks the current build migrates it (or, while 4 is current, leaves it unchanged).
-- The CREATE statements are what the v1 to v4 migration steps of db/store_schema.c build (the
-- v2 step adds the k_ columns with ALTER TABLE, which SQLite folds into CREATE TABLE
-- snapshots); never edit them.
PRAGMA application_id = 1280198468;
PRAGMA user_version = 4;
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
  closing INTEGER NOT NULL, k_time_wait_entered INTEGER, k_time_wait_killed INTEGER,
  k_time_wait_recycled INTEGER, k_time_wait_overflow INTEGER, k_abort_on_close INTEGER,
  k_abort_on_data INTEGER, k_abort_on_linger INTEGER, k_abort_on_timeout INTEGER,
  k_abort_on_memory INTEGER, k_listen_overflows INTEGER, k_listen_drops INTEGER,
  k_active_opens INTEGER, k_passive_opens INTEGER, k_attempt_fails INTEGER,
  k_estab_resets INTEGER, k_out_rsts INTEGER, k_retrans_segs INTEGER,
  k_sockets_inuse INTEGER, k_orphans INTEGER, k_time_wait_buckets INTEGER,
  k_sockets_allocated INTEGER, k_memory_pages INTEGER);
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
CREATE INDEX snapshots_kstat ON snapshots (taken_at) WHERE coalesce(
  k_time_wait_entered, k_time_wait_killed, k_time_wait_recycled, k_time_wait_overflow,
  k_abort_on_close, k_abort_on_data, k_abort_on_linger, k_abort_on_timeout,
  k_abort_on_memory, k_listen_overflows, k_listen_drops, k_active_opens, k_passive_opens,
  k_attempt_fails, k_estab_resets, k_out_rsts, k_retrans_segs) IS NOT NULL;
CREATE TABLE rollups (
  res INTEGER NOT NULL,
  t INTEGER NOT NULL,
  state INTEGER NOT NULL,
  min INTEGER NOT NULL,
  max INTEGER NOT NULL,
  sum REAL NOT NULL,
  n INTEGER NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (res, t, state)) WITHOUT ROWID;
CREATE TABLE group_rollups (
  res INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  t INTEGER NOT NULL,
  state INTEGER NOT NULL,
  grp TEXT NOT NULL,
  min INTEGER NOT NULL,
  max INTEGER NOT NULL,
  sum REAL NOT NULL,
  n INTEGER NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY (res, kind, t, state, grp)) WITHOUT ROWID;
CREATE TABLE netns_snapshots (
  name TEXT NOT NULL,
  taken_at REAL NOT NULL,
  snapshot INTEGER NOT NULL,
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
  closing INTEGER NOT NULL,
  PRIMARY KEY (name, taken_at, snapshot)) WITHOUT ROWID;
CREATE INDEX netns_snapshots_taken_at ON netns_snapshots (taken_at);
CREATE INDEX group_rollups_netns ON group_rollups (grp, res, t) WHERE kind = 3;
CREATE TABLE transitions (
  snapshot INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
  from_state INTEGER NOT NULL,
  to_state INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (snapshot, from_state, to_state)) WITHOUT ROWID;
CREATE TABLE transition_rollups (
  res INTEGER NOT NULL,
  t INTEGER NOT NULL,
  from_state INTEGER NOT NULL,
  to_state INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (res, t, from_state, to_state)) WITHOUT ROWID;
CREATE TABLE timelines (
  cookie INTEGER PRIMARY KEY,
  sock INTEGER NOT NULL REFERENCES sockets (id) ON DELETE CASCADE,
  netns INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  tid INTEGER NOT NULL,
  comm TEXT NOT NULL,
  cgroup INTEGER NOT NULL,
  how INTEGER NOT NULL,
  reset_sent INTEGER NOT NULL);
CREATE INDEX timelines_sock ON timelines (sock);
CREATE TABLE timeline_steps (
  cookie INTEGER NOT NULL REFERENCES timelines (cookie) ON DELETE CASCADE,
  i INTEGER NOT NULL,
  at REAL NOT NULL,
  from_state INTEGER NOT NULL,
  to_state INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  PRIMARY KEY (cookie, i)) WITHOUT ROWID;

INSERT INTO meta VALUES ('boot_id', 'fixture-boot'), ('source', 'netlink');
-- 1 was written by v1 (no kernel values); 2 and 3 by v2, 3 on a kernel without TWRecycled
-- and with a counter above 2^63 (u64 bits kept: -2 is 0xfffffffffffffffe).
INSERT INTO snapshots VALUES
  (1, 1700000000.0, 1.5, 'netlink', 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (2, 1700000060.0, 2.5, 'netlink', 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
   100, 5, 0, 0, 1, 2, 0, 0, 0, 7, 7, 1000, 2000, 3, 4, 50, 60, 10, 1, 2, 12, 30),
  (3, 1700000120.0, 2.0, 'netlink', 1, 3, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0,
   160, 6, NULL, 0, 1, 3, 0, 0, 0, 9, 9, 1100, 2100, 3, 4, 55, -2, 11, 0, 3, 14, 31);
INSERT INTO sockets VALUES
  (1, 4026531840, 11, 2, 10, X'7f000001', 8080, X'00000000', 0, 5001, 0,
   1700000000.0, 1700000000.0, NULL),
  (2, 4026531840, -2, 10, 8, X'00000000000000000000000000000001', 43210,
   X'00000000000000000000000000000001', 8080, 5002, 1000,
   1700000000.0, 1700000004.0, NULL),
  (3, 4026531840, 12, 2, 1, X'7f000001', 40000, X'7f000001', 8080, 5003, 1000,
   1699999990.0, 1699999990.0, 1700000005.0);
-- Minute 1700000040 held snapshot 2 (CLOSE_WAIT 1), minute 1700000100 held snapshot 3.
INSERT INTO rollups VALUES
  (60, 1700000040, 8, 1, 1, 1.0, 1, 1),
  (60, 1700000100, 8, 0, 0, 0.0, 1, 0),
  (60, 1700000100, 6, 1, 1, 1.0, 1, 1),
  (3600, 1699999200, 8, 0, 1, 1.0, 2, 0);
INSERT INTO group_rollups VALUES
  (60, 1, 1700000040, 8, '43210', 1, 1, 1.0, 1, 1),
  (60, 2, 1700000040, 8, 'postgres', 1, 1, 1.0, 1, 1);
-- v3: namespace 'pod-a' (followed with --netns all) beside snapshots 2 and 3: 2 CLOSE_WAIT
-- and a listener, then only the listener.  Its minutes: every state that was there, and
-- ESTABLISHED always (0 here), which says the namespace existed in that minute.
INSERT INTO netns_snapshots VALUES
  ('pod-a', 1700000060.0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0),
  ('pod-a', 1700000120.0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0);
INSERT INTO group_rollups VALUES
  (60, 3, 1700000040, 1, 'pod-a', 0, 0, 0.0, 1, 0),
  (60, 3, 1700000040, 8, 'pod-a', 2, 2, 2.0, 1, 2),
  (60, 3, 1700000040, 10, 'pod-a', 1, 1, 1.0, 1, 1),
  (60, 3, 1700000100, 1, 'pod-a', 0, 0, 0.0, 1, 0),
  (60, 3, 1700000100, 10, 'pod-a', 1, 1, 1.0, 1, 1);
-- v4: state changes counted by the tracer since the snapshot before: snapshot 2 saw 3
-- connections close first (ESTABLISHED -> FIN_WAIT1, 1 -> 4) and 2 end (FIN_WAIT2 -> CLOSE,
-- 5 -> 7), snapshot 3 one more of each; snapshot 1 was the tracer's first (no rows).
INSERT INTO transitions VALUES
  (2, 1, 4, 3),
  (2, 5, 7, 2),
  (3, 1, 4, 1),
  (3, 5, 7, 1);
INSERT INTO transition_rollups VALUES
  (60, 1700000040, 1, 4, 3),
  (60, 1700000040, 5, 7, 2),
  (60, 1700000100, 1, 4, 1),
  (60, 1700000100, 5, 7, 1),
  (3600, 1699999200, 1, 4, 4),
  (3600, 1699999200, 5, 7, 3);
-- Socket 2 (CLOSE_WAIT, cookie -2 = 0xfffffffffffffffe) entered it in softirq; pid 4242
-- "app" has not closed it yet (how 0): one step, made outside any process.
INSERT INTO timelines VALUES (-2, 2, 4026531840, 0, 0, '', 77, 0, 0);
INSERT INTO timeline_steps VALUES (-2, 0, 1700000004.25, 1, 8, 0);
COMMIT;
