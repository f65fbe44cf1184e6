-- The comments app's table. Applied once by the bootstrap, as the database owner.
CREATE TABLE comment (
    id         serial      PRIMARY KEY,
    text       text        NOT NULL CHECK (char_length(text) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The application role may read and add comments, nothing more.
GRANT SELECT, INSERT ON TABLE comment TO app;
GRANT USAGE ON SEQUENCE comment_id_seq TO app;
