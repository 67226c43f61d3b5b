-- Guardian schema, version 16: each referral's next escalation, on its row.
--
-- A delivered or opened referral that its agency has not acknowledged
-- escalates at its deadline, and again one acknowledge_within later
-- (guardian.Referral.NextEscalation). The hub used to schedule each step
-- as a job of River's, inserted with the referral; it now sweeps the steps
-- that are due from this column's index, which every change of a
-- referral's state, level or deadline keeps, in its own statement. A
-- referral with no step to come has NULL.
--
-- Escalation jobs an older guardian scheduled still run, and do nothing
-- that the sweep has done: EscalateReferral changes a referral only at the
-- level after the one it has.

ALTER TABLE referrals ADD COLUMN escalate_at timestamptz;

UPDATE referrals SET escalate_at = CASE escalation
		WHEN 0 THEN deadline
		WHEN 1 THEN deadline + acknowledge_within_us * interval '1 microsecond'
	END
	WHERE state IN ('delivered', 'opened') AND escalation < 2;

CREATE INDEX referrals_escalation_due ON referrals (escalate_at, id) WHERE escalate_at IS NOT NULL;
