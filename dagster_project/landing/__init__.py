"""Landing zone: the contract each group company delivers against, and the synthetic generator."""
