"""The semantic cache's pure parts: the near-miss guard and its word lists."""
