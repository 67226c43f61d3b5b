-- Guardian schema, version 18: the referrals waiting for the hub's
-- confirmation, by their last change.
--
-- The hub lists the referrals it holds for an analyst's confirmation
-- (GET /referrals?state=new&updatedSince=..., its web queue) across every
-- agency, so no index that starts with the agency serves it. Without the
-- table's statistics (autovacuum off, or before the first analyze),
-- PostgreSQL read the whole table for it and sorted what it found: 31 ms
-- a listing at 90 thousand referrals, growing with them
-- (docs/performance.md, "ninth"). Few referrals are new at any moment:
-- this index holds only those, so it costs the writes of the others
-- nothing, and a listing of new referrals reads it in its order. The
-- statement is planned with its states known (Dialect.Replanned), which
-- is what lets PostgreSQL use an index limited to one state. SQLite
-- prepares the statement with its states unknown and so does not use it;
-- it is here so that both stores have one schema, at the cost of an
-- entry per new referral.

CREATE INDEX referrals_new ON referrals (updated_at, id) WHERE state = 'new';
