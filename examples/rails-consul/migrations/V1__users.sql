-- The user service's table. Applied once by the bootstrap, as the database owner.
CREATE TABLE users (
    id         serial      PRIMARY KEY,
    name       text        NOT NULL,
    email      text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO users (name, email) VALUES
    ('Ada Lovelace',    'ada@example.com'),
    ('Grace Hopper',    'grace@example.com'),
    ('Edsger Dijkstra', 'edsger@example.com');

-- The application role only reads.
GRANT SELECT ON TABLE users TO app;
