"""The website tracker's JavaScript (served at /t.js by leadscore.api.collect)."""
