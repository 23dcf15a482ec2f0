"""The signed-in user's own page: contact details and password."""
