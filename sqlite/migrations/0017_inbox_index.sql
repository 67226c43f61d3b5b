-- Guardian schema, version 17: the index of an agency's referrals by state
-- also orders them by their last change.
--
-- An agency that polls its inbox for what changed (GET /referrals with a
-- state and updatedSince, as a duty system or the simulator's bots do)
-- asks for referrals of a few states changed since a moment. The index of
-- (agency_id, state) found every referral the agency ever had in those
-- states and then dropped the old ones: on a busy hub, with each
-- acknowledgement leaving the delivered version of its referral behind
-- until vacuum takes it, that was some 300 index entries and heap pages a
-- poll (docs/performance.md, "eighth"). With updated_at and id after the
-- state, the scan starts at the moment asked for; counts by state read
-- the same index as before, by its first two columns.

CREATE INDEX referrals_agency_state_updated ON referrals (agency_id, state, updated_at, id);
DROP INDEX referrals_agency_state;
