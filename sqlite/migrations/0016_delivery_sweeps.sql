-- Guardian schema, version 16: escalations and digests are swept from the
-- referrals, not scheduled as jobs of River's with each delivery.
--
-- Escalations. A delivered or opened referral that its agency has not
-- acknowledged escalates at its deadline, and again one acknowledge_within
-- later (guardian.Referral.NextEscalation). The hub used to schedule each step
-- as a job of River's, inserted with the referral; it now sweeps the steps
-- that are due from this column's index, which every change of a
-- referral's state, level or deadline keeps, in its own statement. A
-- referral with no step to come has NULL.
--
-- Escalation jobs an older guardian scheduled still run, and do nothing
-- that the sweep has done: EscalateReferral changes a referral only at the
-- level after the one it has.

ALTER TABLE referrals ADD COLUMN escalate_at INTEGER;

UPDATE referrals SET escalate_at = CASE escalation
		WHEN 0 THEN deadline
		WHEN 1 THEN deadline + acknowledge_within_us
	END
	WHERE state IN ('delivered', 'opened') AND escalation < 2;

CREATE INDEX referrals_escalation_due ON referrals (escalate_at, id) WHERE escalate_at IS NOT NULL;

-- Digests. A priority 2 or 3 referral's agency hears of it in a digest of
-- the 15-minute window it was delivered in. The hub used to insert a digest
-- job with each such delivery (unique per agency and window: all but the
-- first of a window's inserts did nothing, at a full insert's cost); it now
-- sweeps each window once it has ended, finding its agencies from this
-- index, and inserts one digest job per agency. digest_sweep's one row says
-- up to when the windows have been swept. A store that has such referrals
-- already starts at its last delivery's window (an older guardian scheduled
-- the digests until then itself; that window's digests, swept again, are
-- River's unique jobs); a store without starts at its first such delivery.

CREATE INDEX referrals_digest ON referrals (delivered_at, agency_id)
	WHERE delivered_at IS NOT NULL AND priority IN ('2', '3');

CREATE TABLE digest_sweep (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	swept_until INTEGER NOT NULL
);

INSERT INTO digest_sweep (id, swept_until)
	SELECT 1, last FROM (SELECT max(delivered_at) AS last FROM referrals
		WHERE delivered_at IS NOT NULL AND priority IN ('2', '3')) AS deliveries
	WHERE last IS NOT NULL;
