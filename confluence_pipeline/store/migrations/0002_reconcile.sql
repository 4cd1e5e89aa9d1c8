-- Deletion reconciliation: when each space was last checked against a full listing of its current page ids, and
-- what that found. The weekly strategy reads last_reconcile_at to decide whether a space is due.
ALTER TABLE spaces
    ADD COLUMN last_reconcile_at      timestamptz,
    ADD COLUMN last_reconcile_listed  integer,
    ADD COLUMN last_reconcile_removed integer;

-- Reconciliation compares the stored current pages of one space with the listing.
CREATE INDEX pages_space_current_idx ON pages (space_key) WHERE status = 'current';
