-- Guardian schema, version 15: the routing queue.
--
-- A finished report waiting to be triaged and routed is marked on its own
-- row, in place of a job of River's (see guardian.RoutingQueue): the
-- finish and an agency's decline set route_order, the routing's
-- transaction clears it. So a report never waits without being queued,
-- and the queue costs no insert, fetch or completion of a job.
--
--   route_order     1 first (expected priority E or 1), 2 soon (2), 3 in
--                   turn; NULL: nothing to route
--   route_after     not before: a claim's lease or a retry's backoff; NULL:
--                   due now
--   route_attempts  attempts so far, counted at each claim; 0 once routed
--   route_error     the last failure's reason; kept when the hub gives up
--                   (route_order NULL, the report finished and unrouted)
--
-- Reports whose triage job River still held are queued by the hub when
-- it starts (jobs.Migrate), and their jobs deleted.

ALTER TABLE reports ADD COLUMN route_order INTEGER CHECK (route_order IN (1, 2, 3));
ALTER TABLE reports ADD COLUMN route_after INTEGER;
ALTER TABLE reports ADD COLUMN route_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN route_error TEXT;
CREATE INDEX reports_routing_queue ON reports (route_order, id) WHERE route_order IS NOT NULL;
