-- Guardian schema, version 10: the PDQ hashes of a picture's 8 rotations
-- and flips, computed at upload beside its own, so that matching against
-- hash lists finds a rotated or mirrored copy exactly (issue 13). 8 hashes
-- of 64 hex digits, comma-separated, in pdq's dihedral order; NULL for a
-- file that is not a hashed image, or that was hashed before this version
-- (matching then derives them from the hash, approximately).
ALTER TABLE files ADD COLUMN pdq_dihedral TEXT CHECK (pdq_dihedral IS NULL OR length(pdq_dihedral) = 8 * 64 + 7);
