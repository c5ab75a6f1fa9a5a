"""Coinflip: flip a coin before the effort, reflect on the effort itself."""
