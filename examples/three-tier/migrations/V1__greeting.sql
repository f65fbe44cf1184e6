-- The value the app tier reads and returns. Applied once by the bootstrap, as the database owner.
CREATE TABLE greeting (
    id       serial PRIMARY KEY,
    greeting text   NOT NULL
);

INSERT INTO greeting (greeting) VALUES ('Hello from the db tier!');

-- The application role only reads.
GRANT SELECT ON TABLE greeting TO app;
