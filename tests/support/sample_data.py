"""Sample data for the demo and the example-DAG tests: an orders table and a summary view."""

SAMPLE_SQL = """
CREATE TABLE IF NOT EXISTS orders (id bigint, customer text, amount numeric(12, 2), placed_at timestamptz);
TRUNCATE orders;
INSERT INTO orders
SELECT i, 'customer ' || (i % 97), (i % 1000) * 1.25, timestamptz '2026-01-01' + i * interval '1 minute'
FROM generate_series(1, 20000) AS i;
CREATE OR REPLACE VIEW orders_summary AS
SELECT customer, count(*) AS orders, sum(amount) AS revenue, max(placed_at) AS last_order
FROM orders GROUP BY customer;
CREATE OR REPLACE VIEW no_orders AS SELECT * FROM orders_summary WHERE false;
"""
