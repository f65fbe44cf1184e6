-- The catalog service's table. Applied once by the bootstrap, as the database owner.
CREATE TABLE products (
    id          serial  PRIMARY KEY,
    sku         text    NOT NULL UNIQUE,
    name        text    NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0),
    currency    char(3) NOT NULL DEFAULT 'EUR'
);

INSERT INTO products (sku, name, price_cents) VALUES
    ('MUG-001', 'Coffee mug',        1200),
    ('TEE-002', 'Container T-shirt', 2500),
    ('STK-003', 'Sticker pack',       450);

-- The application role only reads.
GRANT SELECT ON TABLE products TO app;
