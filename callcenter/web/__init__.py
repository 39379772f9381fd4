"""HTTP: the JSON API and pages (aiohttp)."""
