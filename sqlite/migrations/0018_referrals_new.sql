-- Guardian schema, version 18: nothing on SQLite.
--
-- On PostgreSQL this version indexes the referrals in state new by their
-- last change, for the hub's list of the referrals it holds for
-- confirmation across agencies, which PostgreSQL without statistics read
-- by scanning the whole table (docs/performance.md, "ninth"). SQLite
-- already reads that list off referrals_updated (updated_at, id), and it
-- prepares the statement with its states unknown, so it would never use
-- an index limited to one state: every held referral would pay for an
-- entry no query reads. The version is recorded all the same, so that
-- both stores count their versions alike.

SELECT 1;
