"""Everything below the API: domain rules, the store, projections and algorithms."""
