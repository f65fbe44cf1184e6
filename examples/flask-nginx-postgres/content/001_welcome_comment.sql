-- Seed content, re-deployed whenever this file changes: it must be safe to run again.
INSERT INTO comment (text)
SELECT 'Welcome! This comment was deployed by the cluster bootstrap as seed content.'
WHERE NOT EXISTS (
    SELECT 1 FROM comment
    WHERE text = 'Welcome! This comment was deployed by the cluster bootstrap as seed content.'
);
