"""The fair on-sale: a waiting room, a random draw anyone can verify, and admission at a set
rate with signed tokens (docs/queue.md)."""
