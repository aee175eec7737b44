"""The staff web interface: server-rendered pages (Jinja2 + htmx) in the KERN UX look."""
