"""Sign-in, sign-out, the forced password change and the first-admin setup."""
