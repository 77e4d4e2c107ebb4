"""Policy value on randomised data and A/B-test analysis; works on plain arrays."""
