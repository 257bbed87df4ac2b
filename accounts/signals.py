"""Framework hooks only (no business logic): keep the session list in step with Django logins."""
