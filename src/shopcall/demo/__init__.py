"""The seeded demo shop: a merchant app, agents, customers with orders, products."""
