"""What admins do to users' passwords, shared by the console and the CLI."""
