"""HTTP plumbing shared by every router: tokens, request bodies, error answers."""
